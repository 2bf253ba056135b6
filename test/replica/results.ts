import { POINTS, RETIREMENT_REASONS } from './names.js';
import type { Rng } from './seeded.js';
import type { ClassificationDetail, Classification, Country, Driver, Retirement, Team } from './types.js';
import { nth, range } from './util.js';

/** A car entered in a session; drivers and team are indices into the generator's pools. */
export interface Car {
  number: string;
  drivers: number[];
  team: number;
  /** Shown under the team's alias name. */
  alias: boolean;
}

/** Where the generator keeps the people and places a classification refers to. */
export interface Roster {
  driver(index: number): { driver: Driver; country: number };
  team(index: number, alias: boolean): Team;
  country(index: number): Country;
}

type Status = 'CLA' | 'NC' | 'DSQ' | 'DNF' | 'DNS';
const STATUS_ORDER: readonly Status[] = ['CLA', 'NC', 'DSQ', 'DNF', 'DNS'];

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/**
 * Simulates one session well enough for the numbers to look like upstream's: classified cars by
 * laps then time with 1-based positions, everyone else at position 0, gaps in time on the lead
 * lap and in laps behind it, points in races only, retirements for some DNF/DNS cars.
 * Every random draw happens in a fixed order, whatever the branch, so outputs only change when
 * the inputs do.
 */
export function classify(rng: Rng, cars: readonly Car[], race: boolean, roster: Roster): Classification {
  const laps = race ? rng.int(20, 70) : rng.int(8, 30);
  const lapMs = rng.int(78_000, 118_000);
  const lengthKm = rng.int(3_000, 7_000) / 1000;
  const grid = rng.shuffle(range(cars.length).map((n) => n + 1));

  const runs = cars.map((car, c) => {
    const pace = rng.next();
    const roll = rng.next();
    const lapsDown = rng.int(1, 3);
    const dnfLaps = rng.int(0, laps - 1);
    const bestRoll = rng.next();
    const bestJitter = rng.int(0, 500);
    const speedShown = rng.chance(0.05);
    const retirementShown = rng.chance(0.7);
    const [reason, type] = rng.pick(RETIREMENT_REASONS);
    // Forcing the last car out of every race guarantees retirements in any tree with races.
    const forcedOut = race && c === cars.length - 1 && cars.length > 1;
    const status: Status = forcedOut
      ? 'DNF'
      : roll < 0.02
        ? 'DNS'
        : roll < 0.12
          ? 'DNF'
          : roll < 0.13
            ? 'DSQ'
            : roll < 0.15
              ? 'NC'
              : 'CLA';
    const lapsDone =
      status === 'DNS'
        ? 0
        : status === 'DNF'
          ? dnfLaps
          : status === 'NC'
            ? Math.floor(laps * 0.6)
            : laps - (pace > 0.85 ? lapsDown : 0);
    const carLapMs = lapMs * (1 + pace * 0.03);
    const ran = lapsDone > 0;
    const avgLapSpeed = ran ? round3((lengthKm * 3_600_000) / carLapMs) : 0;
    return {
      car,
      grid: nth(grid, c),
      status,
      lapsDone,
      time: Math.round(lapsDone * carLapMs),
      avgLapSpeed,
      fastestLapTime: ran ? Math.round(lapMs * (0.985 + pace * 0.02)) + bestJitter : 0,
      bestLap: ran ? 1 + Math.floor(bestRoll * lapsDone) : 0,
      // Upstream shows 0 for cars that never ran and null for almost everyone else.
      bestSpeed: !ran ? 0 : speedShown ? round3(avgLapSpeed * 1.02) : null,
      retirement: (status === 'DNF' || status === 'DNS') && (retirementShown || forcedOut) ? { reason, type } : null,
    };
  });

  const order = [...runs].sort(
    (a, b) =>
      STATUS_ORDER.indexOf(a.status) - STATUS_ORDER.indexOf(b.status) || b.lapsDone - a.lapsDone || a.time - b.time,
  );
  // One fastest car even on a tie, as upstream marks it.
  const fastestRun = runs
    .filter((r) => r.fastestLapTime > 0)
    .reduce<(typeof runs)[number] | undefined>(
      (best, r) => (best && best.fastestLapTime <= r.fastestLapTime ? best : r),
      undefined,
    );
  const leader = nth(order, 0);

  let position = 0;
  const details = order.map((run, p): ClassificationDetail => {
    const previous = p === 0 ? run : nth(order, p - 1);
    const classified = run.status === 'CLA';
    if (classified) position++;
    const lead = roster.driver(nth(run.car.drivers, 0));
    return {
      finishPosition: classified ? position : 0,
      gridPosition: run.grid,
      carNumber: run.car.number,
      drivers: run.car.drivers.map((d) => roster.driver(d).driver),
      team: roster.team(run.car.team, run.car.alias),
      nationality: roster.country(lead.country),
      laps: run.lapsDone,
      points: race && classified && position <= POINTS.length ? nth(POINTS, position - 1) : 0,
      time: run.time,
      classifiedStatus: run.status,
      avgLapSpeed: run.avgLapSpeed,
      fastestLapTime: run.fastestLapTime,
      gap: {
        timeToLead: classified && run.lapsDone === leader.lapsDone ? run.time - leader.time : 0,
        timeToNext: classified && run.lapsDone === previous.lapsDone ? Math.max(0, run.time - previous.time) : 0,
        lapsToLead: Math.max(0, leader.lapsDone - run.lapsDone),
        lapsToNext: Math.max(0, previous.lapsDone - run.lapsDone),
      },
      best: {
        lap: run.bestLap,
        time: run.fastestLapTime,
        fastest: run === fastestRun,
        speed: run.bestSpeed,
      },
    };
  });

  const retirements = order
    .filter((run) => run.retirement !== null)
    .sort((a, b) => b.lapsDone - a.lapsDone)
    .map(
      (run): Retirement => ({
        driver: roster.driver(nth(run.car.drivers, 0)).driver,
        carNumber: run.car.number,
        reason: run.retirement?.reason ?? null,
        type: run.retirement?.type ?? null,
        dns: run.status === 'DNS',
        lap: run.lapsDone,
        details: null,
      }),
    );
  return { details, retirements };
}
