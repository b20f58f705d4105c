//! What is measured in a file's audio, from one decode (symphonia):
//!
//! - **loudness** and **true peak**: EBU R128 integrated loudness (LUFS) and
//!   true peak (dBTP), measured by the ebur128 crate. A speaker plays each
//!   track at `-14 LUFS - loudness` of gain (never above its true peak), so
//!   every track sounds equally loud.
//! - **tempo** (BPM): the onset envelope (rises in the energy of 512-sample
//!   hops) autocorrelated over the lags of 60–200 BPM; the strongest lag
//!   wins, and none when no lag stands out (a drone, speech, a tone).
//! - **energy**, 0–100: half loudness (−30 LUFS counts 0, −5 LUFS counts
//!   full) and half onset density (four or more clear onsets a second count
//!   full). Calm, quiet music is low; loud, busy music is high.
//! - **fingerprint**: SHA-256 of the decoded samples, so a file keeps its
//!   id when it is renamed, moved or re-tagged.

use std::fs::File;
use std::io::ErrorKind;
use std::path::Path;

use ebur128::{EbuR128, Mode};
use sha2::{Digest, Sha256};
use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

use crate::domain::Analysis;

/// Samples per hop of the onset envelope.
const HOP: usize = 512;
/// Decoding stops after this much audio (a "track" of hours is a mix or a
/// broken header): what was measured so far stands.
const MAX_SECONDS: u64 = 2 * 60 * 60;

/// What one decode found.
#[derive(Debug)]
pub struct Measured {
    pub analysis: Analysis,
    /// Hex SHA-256 of the decoded samples.
    pub fingerprint: String,
    /// The decoded length.
    pub duration_ms: u64,
}

/// Why a file's audio could not be measured.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error("no audio decoder for this format ({0})")]
    Unsupported(String),
    #[error("the audio is damaged: {0}")]
    Corrupt(String),
    #[error("cannot read the file: {0}")]
    Unreadable(#[from] std::io::Error),
}

impl From<Error> for AnalysisError {
    fn from(e: Error) -> Self {
        match e {
            Error::IoError(e) => Self::Unreadable(e),
            Error::Unsupported(what) => Self::Unsupported(what.to_string()),
            other => Self::Corrupt(other.to_string()),
        }
    }
}

fn open_decoder(format: &dyn FormatReader) -> Result<(u32, Box<dyn AudioDecoder>), Error> {
    let track = format.default_track(TrackType::Audio).ok_or(Error::Unsupported("no audio track"))?;
    let params = track.codec_params.as_ref().and_then(|p| p.audio()).ok_or(Error::Unsupported("no audio stream"))?;
    let decoder = symphonia::default::get_codecs().make_audio_decoder(params, &AudioDecoderOptions::default())?;
    Ok((track.id, decoder))
}

/// Decodes the whole file once and measures it. Blocking: run it off the
/// async runtime.
pub fn measure(path: &Path) -> Result<Measured, AnalysisError> {
    let source = MediaSourceStream::new(Box::new(File::open(path)?), Default::default());
    let mut hint = Hint::new();
    if let Some(extension) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(extension);
    }
    let mut format =
        symphonia::default::get_probe().probe(&hint, source, FormatOptions::default(), MetadataOptions::default())?;
    let (mut track_id, mut decoder) = open_decoder(&*format)?;
    let mut meter: Option<Meter> = None;
    let mut samples: Vec<f32> = Vec::new();
    loop {
        let packet = match format.next_packet() {
            Ok(Some(packet)) => packet,
            Ok(None) => break,
            // A truncated file: measure what is there.
            Err(Error::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => break,
            Err(Error::ResetRequired) => {
                (track_id, decoder) = open_decoder(&*format)?;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        if packet.track_id != track_id {
            continue;
        }
        let audio = match decoder.decode(&packet) {
            Ok(audio) => audio,
            // One damaged packet: skip it, as players do.
            Err(Error::DecodeError(_)) => continue,
            Err(Error::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e.into()),
        };
        let (rate, channels) = (audio.spec().rate(), audio.spec().channels().count());
        audio.copy_to_vec_interleaved(&mut samples);
        let meter = match &mut meter {
            Some(meter) => meter,
            None => meter.insert(Meter::new(rate, channels)?),
        };
        meter.add(&samples, rate, channels)?;
        if meter.frames / u64::from(meter.rate.max(1)) > MAX_SECONDS {
            break;
        }
    }
    let meter = meter.ok_or_else(|| AnalysisError::Corrupt("no audio could be decoded".into()))?;
    Ok(meter.finish())
}

/// Everything measured while decoding, one packet at a time.
struct Meter {
    rate: u32,
    channels: usize,
    loudness: EbuR128,
    fingerprint: Sha256,
    frames: u64,
    /// Mono samples of the hop being filled.
    hop: Vec<f32>,
    /// Energy of each hop.
    hops: Vec<f32>,
}

impl Meter {
    fn new(rate: u32, channels: usize) -> Result<Self, AnalysisError> {
        let loudness = EbuR128::new(channels as u32, rate, Mode::I | Mode::TRUE_PEAK)
            .map_err(|e| AnalysisError::Unsupported(format!("{channels} channels at {rate} Hz: {e}")))?;
        Ok(Self {
            rate,
            channels,
            loudness,
            fingerprint: Sha256::new(),
            frames: 0,
            hop: Vec::with_capacity(HOP),
            hops: Vec::new(),
        })
    }

    fn add(&mut self, interleaved: &[f32], rate: u32, channels: usize) -> Result<(), AnalysisError> {
        if rate != self.rate || channels != self.channels {
            return Err(AnalysisError::Corrupt("the sample rate or channel count changes midway".into()));
        }
        self.loudness.add_frames_f32(interleaved).map_err(|e| AnalysisError::Corrupt(e.to_string()))?;
        for sample in interleaved {
            self.fingerprint.update(sample.to_le_bytes());
        }
        for frame in interleaved.chunks_exact(channels) {
            self.hop.push(frame.iter().sum::<f32>() / channels as f32);
            if self.hop.len() == HOP {
                self.hops.push(self.hop.iter().map(|s| s * s).sum::<f32>() / HOP as f32);
                self.hop.clear();
            }
        }
        self.frames += (interleaved.len() / channels) as u64;
        Ok(())
    }

    fn finish(self) -> Measured {
        let loudness_lufs = self.loudness.loudness_global().unwrap_or(f64::NEG_INFINITY);
        let peak = (0..self.channels as u32).filter_map(|c| self.loudness.true_peak(c).ok()).fold(0.0_f64, f64::max);
        let true_peak_dbtp = if peak > 0.0 { 20.0 * peak.log10() } else { f64::NEG_INFINITY };
        let hops_per_second = self.rate as f32 / HOP as f32;
        let onsets = onset_envelope(&self.hops);
        let seconds = self.frames as f32 / self.rate.max(1) as f32;
        let bpm = tempo(&onsets, hops_per_second);
        let energy = energy(loudness_lufs, count_onsets(&onsets) as f32 / seconds.max(1.0));
        Measured {
            analysis: Analysis {
                // Silence measures -inf: stored as the quietest finite value.
                loudness_lufs: round1(loudness_lufs.max(-70.0)),
                true_peak_dbtp: round1(true_peak_dbtp.max(-70.0)),
                bpm,
                energy,
            },
            fingerprint: hex(&self.fingerprint.finalize()),
            duration_ms: self.frames * 1000 / u64::from(self.rate.max(1)),
        }
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Rises in energy smaller than this (in natural log, about 20 %) are the
/// ripple of a steady sound, not an onset.
const RIPPLE: f32 = 0.2;

/// How much the (log) energy rose at each hop beyond the ripple; falls
/// count zero.
fn onset_envelope(hops: &[f32]) -> Vec<f32> {
    let log: Vec<f32> = hops.iter().map(|e| (e + 1e-10).ln()).collect();
    log.windows(2).map(|w| (w[1] - w[0] - RIPPLE).max(0.0)).collect()
}

/// Onsets: envelope peaks well above the typical rise (a steady tone has
/// none; each drum hit is one).
fn count_onsets(envelope: &[f32]) -> usize {
    let threshold = 1.5_f32; // a rise of e^1.5 ≈ 4.5× in energy from one hop to the next
    envelope.windows(3).filter(|w| w[1] > threshold && w[1] >= w[0] && w[1] > w[2]).count()
}

/// The tempo whose beat period best matches the onset envelope, if one
/// stands out.
fn tempo(envelope: &[f32], hops_per_second: f32) -> Option<u16> {
    let mean = envelope.iter().sum::<f32>() / envelope.len().max(1) as f32;
    let centred: Vec<f32> = envelope.iter().map(|x| x - mean).collect();
    let energy: f32 = centred.iter().map(|x| x * x).sum();
    if energy <= f32::EPSILON || centred.len() < 4 * hops_per_second as usize {
        return None;
    }
    let lag_of = |bpm: f32| (60.0 * hops_per_second / bpm).round() as usize;
    let (shortest, longest) = (lag_of(200.0).max(1), lag_of(60.0).min(centred.len() / 2));
    let correlation = |lag: usize| centred.iter().zip(&centred[lag..]).map(|(a, b)| a * b).sum::<f32>() / energy;
    let (lag, strength) = (shortest..=longest).map(|lag| (lag, correlation(lag))).max_by(|a, b| a.1.total_cmp(&b.1))?;
    if strength < 0.2 {
        return None;
    }
    // Refine between neighbouring lags (the true period rarely falls on a hop).
    let (before, after) = (correlation(lag.saturating_sub(1).max(1)), correlation(lag + 1));
    let shift = 0.5 * (before - after) / (before - 2.0 * strength + after).min(-f32::EPSILON);
    let period = lag as f32 + shift.clamp(-0.5, 0.5);
    Some((60.0 * hops_per_second / period).round() as u16)
}

/// 0–100: half loudness, half onset density (see the module doc).
fn energy(loudness_lufs: f64, onsets_per_second: f32) -> u8 {
    let loud = ((loudness_lufs + 30.0) / 25.0).clamp(0.0, 1.0) as f32;
    let busy = (onsets_per_second / 4.0).clamp(0.0, 1.0);
    (50.0 * (loud + busy)).round() as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An envelope with a click every `period` hops.
    fn clicks(period: usize, hops: usize) -> Vec<f32> {
        (0..hops).map(|h| if h % period == 0 { 4.0 } else { 0.0 }).collect()
    }

    #[test]
    fn a_regular_beat_gives_its_tempo_and_a_drone_none() {
        let hops_per_second = 44_100.0 / HOP as f32;
        // 120 BPM: a click every 0.5 s = 43.07 hops; alternate 43 and 44.
        let mut envelope = Vec::new();
        for n in 0..60 {
            let gap = if n % 14 == 0 { 44 } else { 43 };
            envelope.push(4.0);
            envelope.extend(std::iter::repeat_n(0.0, gap - 1));
        }
        let bpm = tempo(&envelope, hops_per_second).expect("a tempo");
        assert!((119..=121).contains(&bpm), "{bpm}");
        assert_eq!(tempo(&vec![0.0; 2_000], hops_per_second), None, "silence has no tempo");
        assert_eq!(tempo(&clicks(1, 2_000), hops_per_second), None, "a steady rise is no beat");
        let ripple: Vec<f32> = (0..2_000).map(|h| 1.0 + 0.05 * (h as f32 * 0.3).sin()).collect();
        assert_eq!(tempo(&onset_envelope(&ripple), hops_per_second), None, "a steady tone's ripple is no beat");
    }

    #[test]
    fn energy_grows_with_loudness_and_onsets() {
        assert_eq!(energy(-40.0, 0.0), 0);
        assert_eq!(energy(-5.0, 8.0), 100);
        assert!(energy(-10.0, 2.0) > energy(-20.0, 2.0));
        assert!(energy(-10.0, 3.0) > energy(-10.0, 1.0));
    }
}
