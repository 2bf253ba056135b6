// Vocabulary of the synthetic tree. Entries with U+FFFD mirror the recording, where upstream lost
// accents; a few sit early in the tables so that even the smallest trees carry one.

export interface SeriesName {
  name: string;
  shortName: string | null;
  shortCode: string;
  category: string;
  /** Seasons straddle two years (`2024-25`), as in Formula E. */
  winter: boolean;
}

export const SERIES_NAMES: readonly SeriesName[] = [
  {
    name: 'Formula Alpha World Championship',
    shortName: 'Formula Alpha',
    shortCode: 'FA',
    category: 'Single Seater',
    winter: false,
  },
  { name: 'Global Endurance Championship', shortName: 'GEC', shortCode: 'GEC', category: 'Sportscar', winter: false },
  {
    name: 'ADAC 24h Rennen N\uFFFDrburgring',
    shortName: 'ADAC 24 N\uFFFDrburgring',
    shortCode: 'NUR24',
    category: 'Endurance',
    winter: false,
  },
  { name: 'Touring Car Masters', shortName: null, shortCode: 'TCM', category: 'GT & Touringcar', winter: false },
  { name: 'Electric Street Series', shortName: 'E-Street', shortCode: 'ESS', category: 'Single Seater', winter: true },
  { name: 'World Rally Trophy', shortName: 'WRT', shortCode: 'WRTR', category: 'Rally', winter: false },
  { name: 'Formula Junior Cup', shortName: null, shortCode: 'FJC', category: 'Single Seater', winter: false },
  { name: 'Virtual Endurance Series', shortName: 'Virtual ES', shortCode: 'VES', category: 'eSports', winter: true },
];

export interface VenueName {
  name: string;
  shortName: string;
  shortCode: string;
  /** Index into COUNTRIES. */
  country: number;
  /** Offset of local time from UTC, in hours. */
  tz: number;
  event: string;
  eventShort: string;
}

// Venues only use the first countries of COUNTRIES: the rest appear as driver nationalities
// alone, which is what makes storing classification nationalities matter.
export const VENUES: readonly VenueName[] = [
  {
    name: 'Autodromo del Sole',
    shortName: 'Sole',
    shortCode: 'SOL',
    country: 0,
    tz: 1,
    event: 'Grand Prix of the Sun',
    eventShort: 'Sun GP',
  },
  {
    name: 'N\uFFFDrburgring Nordschleife',
    shortName: 'Nordschleife',
    shortCode: 'NUR',
    country: 1,
    tz: 2,
    event: 'Eifel N\uFFFDrburgring',
    eventShort: 'Eifel',
  },
  {
    name: 'Circuit de la Sarthe',
    shortName: '',
    shortCode: 'LMS',
    country: 2,
    tz: 2,
    event: 'Sarthe Classic',
    eventShort: 'Sarthe',
  },
  {
    name: 'Harbour Street Circuit',
    shortName: 'Harbour',
    shortCode: 'HBR',
    country: 3,
    tz: 10,
    event: 'Harbour Grand Prix',
    eventShort: 'Harbour GP',
  },
  {
    name: 'Lakeside Raceway',
    shortName: 'Lakeside',
    shortCode: 'LKS',
    country: 4,
    tz: -5,
    event: 'Lakeside 500',
    eventShort: 'Lakeside',
  },
  {
    name: 'Desert International Circuit',
    shortName: 'Desert',
    shortCode: 'DIC',
    country: 5,
    tz: 3,
    event: 'Desert Grand Prix',
    eventShort: 'Desert GP',
  },
  {
    name: 'Mountain Pass Stages',
    shortName: '',
    shortCode: 'MPS',
    country: 6,
    tz: 1,
    event: 'Rally of the Passes',
    eventShort: 'Passes',
  },
  {
    name: 'Autódromo Ciudad Alta',
    shortName: 'Ciudad Alta',
    shortCode: 'CDA',
    country: 7,
    tz: -6,
    event: 'Gran Premio de la Ciudad',
    eventShort: 'Ciudad GP',
  },
  {
    name: 'Bay Park Circuit',
    shortName: 'Bay Park',
    shortCode: 'BAY',
    country: 8,
    tz: 9,
    event: 'Bay Park 6 Hours',
    eventShort: 'Bay 6h',
  },
  {
    name: 'Northern Ring',
    shortName: 'North Ring',
    shortCode: 'NRG',
    country: 9,
    tz: 0,
    event: 'Northern Trophy',
    eventShort: 'Northern',
  },
  {
    name: 'Coastal Autodrome',
    shortName: 'Coastal',
    shortCode: 'CST',
    country: 10,
    tz: -3,
    event: 'Coastal 1000',
    eventShort: 'Coastal',
  },
  {
    name: 'Forest Hills Park',
    shortName: 'Forest Hills',
    shortCode: 'FHP',
    country: 11,
    tz: 8,
    event: 'Forest Hills Cup',
    eventShort: 'FH Cup',
  },
];

export interface CountryName {
  name: string;
  iso: string;
}

export const COUNTRIES: readonly CountryName[] = [
  { name: 'Italy', iso: 'it' },
  { name: 'Germany', iso: 'de' },
  { name: 'France', iso: 'fr' },
  { name: 'Australia', iso: 'au' },
  { name: 'United States', iso: 'us' },
  { name: 'Bahrain', iso: 'bh' },
  { name: 'Austria', iso: 'at' },
  { name: 'Mexico', iso: 'mx' },
  { name: 'Japan', iso: 'jp' },
  { name: 'United Kingdom', iso: 'gb' },
  { name: 'Brazil', iso: 'br' },
  { name: 'China', iso: 'cn' },
  { name: 'Spain', iso: 'es' },
  { name: 'Netherlands', iso: 'nl' },
  { name: 'Finland', iso: 'fi' },
  { name: 'Denmark', iso: 'dk' },
  { name: 'New Zealand', iso: 'nz' },
  { name: 'Canada', iso: 'ca' },
  { name: 'Belgium', iso: 'be' },
  { name: 'Monaco', iso: 'mc' },
  { name: 'Thailand', iso: 'th' },
  { name: 'Argentina', iso: 'ar' },
];

export const FIRST_NAMES: readonly string[] = [
  'Antonio',
  'Miguel',
  'Nicklas',
  'Liam',
  'Gabriel',
  'Fernando',
  'Carlos',
  'Jack',
  'Isack',
  'Kimi',
  'Oscar',
  'Lando',
  'Esteban',
  'Yuki',
  'Alex',
  'Pierre',
  'Nico',
  'Valtteri',
  'Sergio',
  'Daniel',
  'Mick',
  'Robert',
  'Sebastien',
  'Kalle',
  'Thierry',
  'Elfyn',
  'Ott',
  'Takamoto',
  'Adrien',
  'Andreas',
];

export const LAST_NAMES: readonly string[] = [
  'Fuoco',
  'H\uFFFDlkenberg',
  'Molina',
  'Nielsen',
  'Lawson',
  'Bortoleto',
  'Alonso',
  'Sainz',
  'Doohan',
  'Hadjar',
  'Antonelli',
  'Piastri',
  'Norris',
  'Ocon',
  'Tsunoda',
  'Albon',
  'Gasly',
  'Bottas',
  'P\uFFFDrez',
  'Ricciardo',
  'Schumacher',
  'Kubica',
  'Ogier',
  'Rovanper\uFFFD',
  'Neuville',
  'Evans',
  'Tanak',
  'Katsuta',
  'Fourmaux',
  'Mikkelsen',
  'Lopez',
  'Schmid',
  'Umbrarescu',
];

export interface TeamName {
  name: string;
  /** Shown for the team's second car in every session: one uuid, two names, as upstream does. */
  alias: string;
}

export const TEAM_NAMES: readonly TeamName[] = [
  { name: 'AF Corse', alias: 'Vista AF Corse' },
  { name: 'Team WRT', alias: 'The Bend Team WRT' },
  { name: 'Iron Lynx', alias: 'Iron Dames' },
  { name: 'Scuderia Rossa', alias: 'Scuderia Rossa Junior' },
  { name: 'Silver Arrow Racing', alias: 'Silver Arrow Academy' },
  { name: 'Blue Wing Motorsport', alias: 'Blue Wing Customer Racing' },
  { name: 'Apex Performance', alias: 'Apex Performance Pro' },
  { name: 'Green Hell Racing', alias: 'Green Hell Racing Team' },
  { name: 'Kaiser Motorsport', alias: 'Kaiser Motorsport II' },
  { name: 'Nordic Speed', alias: 'Nordic Speed Works' },
  { name: 'Sunrise Racing', alias: 'Sunrise Racing by Apex' },
  { name: 'Falcon Autosport', alias: 'Falcon Autosport Gold' },
];

/** [reason, type] pairs as retirements carry them. */
export const RETIREMENT_REASONS: ReadonlyArray<readonly [string, string]> = [
  ['Accident', 'Accident'],
  ['Collision', 'Accident'],
  ['Brakes', 'Mechanical'],
  ['Engine', 'Mechanical'],
  ['Gearbox', 'Mechanical'],
  ['Hydraulics', 'Mechanical'],
  ['Withdrawn', 'Other'],
];

export const POINTS: readonly number[] = [25, 18, 15, 12, 10, 8, 6, 4, 2, 1];
