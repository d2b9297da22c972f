import { describe, expect, it } from 'vitest';
import { Alarms } from './alarms.ts';
import { SimulatedClock } from './simulated-clock.ts';

describe('alarms - one sleep on the clock for the earliest time', () => {
  it('wakes at each time set, earliest first, however they were set', async () => {
    const clock = new SimulatedClock(0);
    const woken: number[] = [];
    const alarms = new Alarms(clock, () => woken.push(clock.now().getTime()));
    alarms.at(300);
    alarms.at(100);
    alarms.at(200);
    expect(clock.pending).toBe(1);
    await clock.advance(99);
    expect(woken).toEqual([]);
    await clock.advance(1);
    expect(woken).toEqual([100]);
    await clock.advance(250);
    expect(woken).toEqual([100, 200, 300]);
    expect(alarms.pending).toEqual([]);
    expect(clock.pending).toBe(0);
  });

  it('a time set twice wakes once; a time already past wakes at once', async () => {
    const clock = new SimulatedClock(1_000);
    let wakes = 0;
    const alarms = new Alarms(clock, () => {
      wakes += 1;
    });
    alarms.at(1_500);
    alarms.at(1_500);
    await clock.advance(500);
    expect(wakes).toBe(1);
    alarms.at(10);
    await clock.advance(0);
    expect(wakes).toBe(2);
  });

  it('stop cancels every wake', async () => {
    const clock = new SimulatedClock(0);
    let wakes = 0;
    const alarms = new Alarms(clock, () => {
      wakes += 1;
    });
    alarms.at(10);
    alarms.at(20);
    alarms.stop();
    alarms.at(30);
    await clock.advance(100);
    expect(wakes).toBe(0);
    expect(clock.pending).toBe(0);
  });
});
