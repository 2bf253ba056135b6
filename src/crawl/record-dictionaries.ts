/**
 * Preset dictionaries for deflate-compressed cache records (see record-codec.ts), one per endpoint.
 *
 * Deflate finds repeats within the last 32 KiB; a preset dictionary is text it may refer to before
 * the body begins, so the first item of a body, whose field names and URL templates a plain deflate
 * has to spell out, costs little more than its values. Every later item refers to earlier ones
 * anyway: a dictionary saves a few hundred bytes per body, which is what tips a body of ~20 KB
 * into one 4 KiB block less.
 *
 * What a dictionary holds: the field names of its endpoint in the order the API sends them, with
 * their punctuation, the fixed parts of the API's picture URLs, and its status codes (as the
 * recorded bodies under test/replica/fixtures have them); no names, numbers or UUIDs of any
 * crawl. Deflate codes a near match in fewer bits, so what every item repeats comes last.
 *
 * A record names its dictionary (`"dictionary":"classification.1"`), and reading it needs those
 * exact bytes: a dictionary is never changed once released. A better one is added under a new
 * name and becomes its endpoint's current one; the old stays here for the records that use it
 * (test/crawl/record-codec.test.ts pins each one's SHA-256).
 */

const DRIVER =
  '{"name":"","firstName":"","lastName":"","shortCode":"","colour":null,"uuid":"","picture":null},' +
  '{"name":"","firstName":"","lastName":"","shortCode":"","colour":null,"uuid":"",' +
  '"picture":"https://content.motorsportstats.com/medium/driverProfilePicture/driverProfilePicture-.jpg"}';

const CLASSIFICATION_1 =
  '{"details":[],"retirements":[{"driver":' +
  DRIVER +
  ',"carNumber":"","reason":"","type":"Mechanical","dns":false,"lap":0,"details":null}' +
  ',{"driver":' +
  DRIVER +
  ',"carNumber":"","reason":"Accident","type":"Accident","dns":true,"lap":null,"details":null}]}' +
  '"classifiedStatus":"NC""classifiedStatus":"DSQ""classifiedStatus":"DNS""classifiedStatus":"DNF"' +
  '{"details":[{"finishPosition":1,"gridPosition":1,"carNumber":"","drivers":[' +
  DRIVER +
  '],"team":{"name":"","uuid":"","colour":"#",' +
  '"picture":"https://assets.motorsportstats.com/team/icon/teamColour_.svg",' +
  '"carIcon":"https://assets.motorsportstats.com/carIcon/Default/caricon_RaceCar_.svg"},' +
  '"nationality":{"name":"","uuid":"","picture":"https://assets.motorsportstats.com/flags/svg/.svg"},' +
  '"laps":0,"points":0.0,"time":null,"classifiedStatus":"CLA","avgLapSpeed":0.0,"fastestLapTime":0.0,' +
  '"gap":{"timeToLead":0.0,"timeToNext":0.0,"lapsToLead":0,"lapsToNext":0},' +
  '"best":{"lap":0,"time":0.0,"fastest":false,"speed":null}},' +
  '{"finishPosition":2,"gridPosition":2,"carNumber":"","drivers":[';

const CALENDAR_1 =
  '{"season":{"name":"","uuid":"","year":0,"endYear":0},"events":[{"uuid":"","name":"","shortName":null,' +
  '"shortCode":"","status":"Cancelled","startDate":null,"startTimeUtc":null,"endDate":null,"endTimeUtc":null,' +
  '"venue":{"name":"","uuid":"","shortName":"","shortCode":"",' +
  '"picture":"https://assets.motorsportstats.com/circuit/30px/circuitInstance_30px_.svg"},' +
  '"country":{"name":"","uuid":"","picture":"https://assets.motorsportstats.com/flags/svg/.svg"},' +
  '"sessions":[{"uuid":"","name":"","shortName":"","shortCode":"","status":"","hasResults":true,' +
  '"startTime":0,"startTimeUtc":0,"endTime":0,"endTimeUtc":0},{"uuid":"","name":"","shortName":"","shortCode":"",' +
  '"status":"","hasResults":false,"startTime":0,"startTimeUtc":0,"endTime":0,"endTimeUtc":0}]},{"uuid":"","name":"",';

const SEASONS_1 =
  '[{"name":"","uuid":"","year":0,"endYear":0,"status":"Current"},{"name":"","uuid":"","year":0,"endYear":0,' +
  '"status":"Historic"},{"name":"","uuid":"","year":0,"endYear":0,"status":""},{"name":"","uuid":"","year":';

const SERIES_1 =
  '[{"name":"","uuid":"","shortName":"","shortCode":"","category":""},{"name":"","uuid":"","shortName":"",' +
  '"shortCode":"","category":""},{"name":"","uuid":"","shortName":"","shortCode":"","category":"';

/** Every dictionary ever released, by the name a record gives: never edit one, add a new name. */
export const RECORD_DICTIONARIES: Readonly<Record<string, Buffer>> = {
  'classification.1': Buffer.from(CLASSIFICATION_1),
  'calendar.1': Buffer.from(CALENDAR_1),
  'seasons.1': Buffer.from(SEASONS_1),
  'series.1': Buffer.from(SERIES_1),
};

/** The dictionary new records of each endpoint (the label of their cache key) are compressed with. */
export const CURRENT_DICTIONARY: Readonly<Record<string, string>> = {
  classification: 'classification.1',
  calendar: 'calendar.1',
  seasons: 'seasons.1',
  series: 'series.1',
};
