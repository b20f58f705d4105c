// The shapes the server sends and accepts (docs/protocol.md §1.6, §4).
// Only the fields this app reads are typed; the server may send more.

export type Role = 'host' | 'cohost' | 'guest';

/** A screen watching the room (the big screen): not a person (protocol.md §1.4). */
export interface ScreenView {
  id: string;
  name: string;
  role: 'screen';
  online: boolean;
}

export interface ApiErrorBody {
  code: string;
  message: string;
}

/** A library track (`/api/tracks`). */
export interface Track {
  id: string;
  title: string;
  artists: string[];
  album: string | null;
  genres?: string[];
  year?: number | null;
  duration_ms: number;
  explicit: boolean;
  popularity?: number;
  artwork_url?: string;
  /** MIME type of the file the server can stream (music folders). */
  audio?: string;
  /** The track on a music service, e.g. `spotify:track:…`. */
  provider_uri?: string;
}

/** A track inside a room; may carry `artwork_url` for imported tracks. */
export interface TrackView {
  id: string;
  title: string;
  artists: string[];
  album: string | null;
  duration_ms: number;
  explicit: boolean;
  artwork_url?: string;
  /** MIME type of the file the server can stream (music folders). */
  audio?: string;
  /** Measured loudness (EBU R128), for the speaker's normalisation. */
  loudness_lufs?: number;
  /** Measured true peak (dBTP): turning a quiet track up stops short of clipping. */
  true_peak_dbtp?: number;
}

export type Vote = 1 | 0 | -1;

export interface EntryView {
  id: string;
  track: TrackView;
  score: number;
  added_by: string;
  added_by_name: string;
  added_at: number;
  pinned: boolean;
  /** Present in snapshots and acks only; kept locally otherwise. */
  my_vote?: Vote;
}

export interface MemberView {
  id: string;
  name: string;
  role: Role;
  online: boolean;
  username?: string;
}

export interface NowPlayingView {
  entry_id: string;
  track: TrackView;
  added_by: string | null;
  started_at: number;
  position_ms: number;
  paused: boolean;
  skip_votes: number;
  /** Paused because the room's speaker went away; resumes when it is back. */
  waiting_for_speaker?: boolean;
}

export interface Play {
  entry_id: string;
  track_id: string;
  title: string;
  artists: string[];
  added_by: string | null;
  started_at: number;
  ended_at: number;
  end: 'finished' | 'skipped' | 'voted_off';
}

export interface Rules {
  allow_downvotes: boolean;
  fair_mode: boolean;
  guests_can_add: boolean;
  max_queued_per_guest: number | null;
  add_cooldown_secs: number | null;
  max_track_secs: number | null;
  allow_explicit: boolean;
  no_replay_hours: number | null;
  banned_tracks: string[];
  banned_artists: string[];
  skip_threshold: number | null;
  downvote_removal: number | null;
  only_playable: boolean;
  /** Seconds the speaker fades one track into the next (0–12). */
  crossfade_secs: number;
}

export interface Listing {
  public: boolean;
  city: string | null;
  location: { lat: number; lng: number } | null;
}

export interface RoomInfo {
  id: string;
  code: string;
  name: string;
  kind: 'party' | 'venue';
  rules: Rules;
  listing?: Listing;
  member_count: number;
  created_at: number;
  fallback_count: number;
  /** The member whose browser plays the music (snapshots and changes). */
  speaker?: string | null;
  /** The music service device the room plays on, if any. */
  playback?: { provider: string; device_name: string } | null;
  /** REST answers; snapshots too on newer servers (older ones leave it out). */
  join_url?: string;
  online_count?: number;
}

export interface Liker {
  member_id: string;
  name: string;
}

export interface PhotoView {
  id: string;
  member_id: string;
  member_name: string;
  comment: string | null;
  created_at: number;
  status: 'processing' | 'ready';
  width: number;
  height: number;
  likes: number;
  liked_by: Liker[];
  /** Only where the server knows who asks. */
  liked?: boolean;
  urls?: { full: string; preview: string; thumb: string };
}

export interface Snapshot {
  version: number;
  server_time: number;
  room: RoomInfo;
  me: MemberView | ScreenView;
  queue: EntryView[];
  now_playing: NowPlayingView | null;
  members: MemberView[];
  /** Members connected now; then kept from `room:presence`. */
  online_count: number;
  recent_plays: Play[];
  /** Absent when the photo store could not be read: keep the wall. */
  photos?: PhotoView[];
  photos_next?: string | null;
  /** The room's screens (not people), oldest first. */
  screens?: ScreenView[];
}

export type Change =
  | { type: 'member_joined'; member: MemberView }
  | { type: 'member_updated'; member: MemberView }
  | { type: 'member_removed'; member_id: string; reason: 'kicked' | 'banned' }
  | { type: 'entry_added'; entry: EntryView }
  | { type: 'entry_updated'; entry: EntryView }
  | { type: 'entry_removed'; entry_id: string; reason: string }
  | { type: 'now_playing'; now_playing: NowPlayingView | null }
  | { type: 'skip_votes'; count: number; needed: number }
  | { type: 'rules_updated'; rules: Rules }
  | { type: 'speaker_updated'; speaker: string | null }
  | { type: 'playback_updated'; playback: { provider: string; device_name: string } | null }
  | { type: 'screen_added'; screen: ScreenView }
  | { type: 'screen_removed'; screen_id: string }
  | { type: 'listing_updated'; listing: Listing }
  | { type: 'fallback_updated'; count: number };

export interface RoomChanged {
  version: number;
  server_time: number;
  changes: Change[];
  /** Only when the queue may have moved: every waiting entry id in play order. */
  order?: string[];
}

/** `room:presence`: who came online or went offline lately, oldest first. */
export interface Presence {
  changes: { member_id: string; online: boolean }[];
  online_count: number;
}

export interface JoinAnswer {
  room: RoomInfo;
  token: string;
  member: MemberView;
}

export type Ack<T> = { ok: true; data: T } | { ok: false; error: ApiErrorBody };

export interface EntryAck {
  version: number;
  entry: EntryView | null;
  duplicate: boolean;
  now_playing_entry_id: string | null;
}

export interface LikeAck {
  photo_id: string;
  likes: number;
  liked_by: Liker[];
  liked: boolean;
}

// Venues (protocol.md §3.18): a bar or a shop, its zones (always-on rooms),
// its staff and the limits of each zone's day parts.

export type VenueRole = 'owner' | 'manager' | 'staff';

export interface OpeningHours {
  /** 1 = Monday … 7 = Sunday. */
  day: number;
  opens: string;
  closes: string;
}

/** What an owner or manager writes (`POST`/`PUT /api/venues…`). */
export interface VenueDetails {
  name: string;
  time_zone: string;
  address?: string | null;
  city?: string | null;
  location?: { lat: number; lng: number } | null;
  opening_hours?: OpeningHours[];
}

export interface VenueStaff {
  user_id: string;
  role: VenueRole;
  since: number;
}

export interface Zone {
  room_id: string;
  code: string;
  name: string;
}

export interface Venue extends VenueDetails {
  id: string;
  staff: VenueStaff[];
  zones: Zone[];
  created_at: number;
}

/** A venue as its staff see it, with the caller's role. */
export interface VenueAnswer {
  venue: Venue;
  role: VenueRole;
}

/** What guests may ask for in a day part (every field optional). */
export interface Limits {
  genres_allowed?: string[];
  genres_blocked?: string[];
  energy?: [number, number] | null;
  tempo?: [number, number] | null;
  explicit?: boolean | null;
  requests?: boolean | null;
}

export interface DayPart {
  name: string;
  /** ISO weekdays it starts on. */
  days: number[];
  starts: string;
  ends: string;
  limits: Limits;
}

export interface SchedulePlan {
  defaults: Limits;
  day_parts: DayPart[];
}

/** The day part in force (`name` null: the defaults). */
export interface DayPartNow {
  name: string | null;
  until: number | null;
  limits: Limits;
}
