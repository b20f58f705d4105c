#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| crowdjuke::fuzzing::library_import(data));
