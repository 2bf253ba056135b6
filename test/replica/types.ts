// Payload shapes of the widgets API as recorded. Key order in these interfaces is the order the
// API serialises them in; the synthetic generator builds objects in this order so its bodies read
// like recorded ones. Nullable fields are the ones the README marks with `?`.

export interface SeriesItem {
  name: string | null;
  uuid: string;
  shortName: string | null;
  shortCode: string | null;
  category: string | null;
}

export interface SeasonItem {
  name: string | null;
  uuid: string;
  year: number | null;
  endYear: number | null;
  status: string | null;
}

export interface CalendarSeason {
  name: string | null;
  uuid: string;
  year: number | null;
  endYear: number | null;
}

export interface Venue {
  name: string | null;
  uuid: string;
  shortName: string | null;
  shortCode: string | null;
  picture: string | null;
}

export interface Country {
  name: string | null;
  uuid: string;
  picture: string | null;
}

export interface Session {
  uuid: string;
  name: string | null;
  shortName: string | null;
  shortCode: string | null;
  status: string | null;
  hasResults: boolean | null;
  startTime: number | null;
  startTimeUtc: number | null;
  endTime: number | null;
  endTimeUtc: number | null;
}

export interface CalendarEvent {
  uuid: string;
  name: string | null;
  shortName: string | null;
  shortCode: string | null;
  status: string | null;
  startDate: number | null;
  startTimeUtc: number | null;
  endDate: number | null;
  endTimeUtc: number | null;
  venue: Venue;
  country: Country;
  sessions: Session[];
}

export interface Calendar {
  season: CalendarSeason;
  events: CalendarEvent[];
}

export interface Driver {
  name: string | null;
  firstName: string | null;
  lastName: string | null;
  shortCode: string | null;
  colour: string | null;
  uuid: string;
  picture: string | null;
}

export interface Team {
  name: string | null;
  uuid: string;
  colour: string | null;
  picture: string | null;
  carIcon: string | null;
}

export interface Gap {
  timeToLead: number | null;
  timeToNext: number | null;
  lapsToLead: number | null;
  lapsToNext: number | null;
}

export interface BestLap {
  lap: number | null;
  time: number | null;
  fastest: boolean | null;
  speed: number | null;
}

export interface ClassificationDetail {
  finishPosition: number | null;
  gridPosition: number | null;
  carNumber: string;
  drivers: Driver[];
  team: Team;
  nationality: Country;
  laps: number | null;
  points: number | null;
  time: number | null;
  classifiedStatus: string | null;
  avgLapSpeed: number | null;
  fastestLapTime: number | null;
  gap: Gap;
  best: BestLap;
}

export interface Retirement {
  driver: Driver;
  carNumber: string;
  reason: string | null;
  type: string | null;
  dns: boolean | null;
  lap: number | null;
  // Always null in the recording, so its real type is unknown.
  details: unknown;
}

export interface Classification {
  details: ClassificationDetail[];
  retirements: Retirement[];
}
