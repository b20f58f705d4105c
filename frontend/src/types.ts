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
  /** Why the autopilot picked it (a venue zone whose queue ran dry). */
  reason?: string;
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
  autofill: boolean;
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
  /** A zone's day part in force (absent outside zones with a schedule). */
  day_part?: DayPartNow | null;
  /** Guests' requests waiting for the staff, oldest first. */
  requests?: RequestView[];
}

/** A guest's track waiting for the staff's approval (a zone whose day part wants it). */
export interface RequestView {
  id: string;
  track: TrackView;
  requested_by: string;
  requested_by_name: string;
  requested_at: number;
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
  | { type: 'fallback_updated'; count: number }
  | { type: 'schedule_updated'; day_part: DayPartNow | null }
  | { type: 'day_part_changed'; day_part: DayPartNow | null }
  | { type: 'request_added'; request: RequestView }
  /** An `entry_added` (or `entry_updated`) follows in the same list. */
  | { type: 'request_approved'; request_id: string; member_id: string }
  | { type: 'request_declined'; request_id: string; member_id: string; title: string }
  | { type: 'request_withdrawn'; request_id: string };

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

/** A guest's `queue:add` in a zone whose day part wants approval: held for the staff. */
export interface RequestAck {
  version: number;
  pending: true;
  request: RequestView;
}

/** What `queue:add` answers. */
export type AddAck = EntryAck | RequestAck;

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
  /**
   * Declines (within 30 days) after which a track is blocked in every
   * zone; 0: never, up to 20. Left out of a PUT it goes back to 3, so the
   * form always sends it.
   */
  block_after_declines?: number;
}

export interface VenueStaff {
  user_id: string;
  role: VenueRole;
  since: number;
  /** In `GET /api/venues/{id}` only (not in the answers of PUTs). */
  username?: string;
  display_name?: string;
}

export interface Zone {
  room_id: string;
  code: string;
  name: string;
  join_url?: string;
}

/** A track the staff declined too often: guests cannot ask for it until unblocked. */
export interface BlockedTrack {
  track_id: string;
  title: string;
  /** The artists joined with commas. */
  artist: string;
  at: number;
}

export interface Venue extends VenueDetails {
  id: string;
  staff: VenueStaff[];
  zones: Zone[];
  created_at: number;
  blocked?: BlockedTrack[];
}

/** A venue as its staff see it, with the caller's role. */
export interface VenueAnswer {
  venue: Venue;
  role: VenueRole;
}

/**
 * What guests may ask for in a day part (every field optional; the server
 * answers with every field, empty lists and nulls for "no limit").
 */
export interface Limits {
  genres_allowed?: string[];
  genres_blocked?: string[];
  energy?: [number, number] | null;
  tempo?: [number, number] | null;
  explicit?: boolean | null;
  requests?: boolean | null;
  /** A guest's request waits for the staff's approval. */
  approval?: boolean | null;
  /** How many tracks one guest may ask for in an hour (1–60). */
  requests_per_hour?: number | null;
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

/** A zone's schedule as the server keeps it (`GET …/schedule`). */
export interface Schedule extends SchedulePlan {
  time_zone: string;
}

/** The day part in force (`name` null: the defaults). */
export interface DayPartNow {
  name: string | null;
  until: number | null;
  limits: Limits;
}

// A venue's dashboard (`GET /api/venues/{id}/analytics`): figures over a
// range of local days, for its owner and managers.

export interface AnalyticsTotals {
  plays: number;
  skips: number;
  /** 0–1. */
  skip_rate: number;
  votes_up: number;
  votes_down: number;
  requests_approved: number;
  requests_declined: number;
  guests: number;
  average_stay_ms: number;
}

export interface AnalyticsDay {
  day: string;
  plays: number;
  skips: number;
  votes_up: number;
  votes_down: number;
  requests_approved: number;
  requests_declined: number;
  /** Visits that began this day. */
  guests: number;
}

export interface AnalyticsHour {
  /** Local hour, 0–23. */
  hour: number;
  guests: number;
  /** `guests` divided by the days of the range. */
  average: number;
}

export interface AnalyticsTrack {
  track_id: string;
  title: string;
  artist: string;
  plays: number;
  skips: number;
  skip_rate: number;
  votes_up: number;
  votes_down: number;
}

/** An artist or a genre. */
export interface AnalyticsName {
  name: string;
  plays: number;
  skips: number;
}

export interface Analytics {
  from: string;
  to: string;
  time_zone: string;
  zone_id: string | null;
  totals: AnalyticsTotals;
  days: AnalyticsDay[];
  hours: AnalyticsHour[];
  tracks: AnalyticsTrack[];
  artists: AnalyticsName[];
  genres: AnalyticsName[];
}

/** The tables of `GET /api/venues/{id}/analytics/export?table=…`. */
export type AnalyticsTable = 'days' | 'hours' | 'tracks' | 'artists' | 'genres';

/** What the dashboard asks for: empty strings are left to the server. */
export interface AnalyticsRange {
  from: string;
  to: string;
  zone: string;
}

/** One artist or genre of a taste profile (names lower-cased). */
export interface TasteName {
  name: string;
  weight: number;
}

/** `GET /api/me/taste` (§3.15): what the venue autopilot counts for you. */
export interface Taste {
  enabled: boolean;
  /** Deleted at (ms): only tracks added since count. */
  since: number | null;
  /** The added tracks it is made of (the latest 200). */
  tracks: number;
  /** Tracks voted up in rooms, and imported from a music service (the latest 200 together). */
  votes: number;
  imported: number;
  artists: TasteName[];
  genres: TasteName[];
}
