import { describe, expect, it } from 'vitest';
import { Limiter } from '../../../lib/util/limit.ts';
import { deferred, flushMicrotasks, type Deferred } from '../fakes/transport.ts';

/** Tasks that block until released, recording how many run at once and the order they start. */
function harness(limiter: Limiter) {
  let active = 0;
  let maxActive = 0;
  const started: string[] = [];
  const gates = new Map<string, Deferred<void>>();
  const run = (name: string, fail = false) => {
    const gate = deferred<void>();
    gates.set(name, gate);
    return limiter.run(async () => {
      started.push(name);
      active++;
      maxActive = Math.max(maxActive, active);
      try {
        await gate.promise;
        if (fail) throw new Error(`${name} failed`);
        return name;
      } finally {
        active--;
      }
    });
  };
  return {
    run,
    release: (name: string) => gates.get(name)!.resolve(),
    started,
    get active() {
      return active;
    },
    get maxActive() {
      return maxActive;
    },
  };
}

describe('Limiter', () => {
  it.each([0, -1, 1.5, Number.NaN, Infinity])('refuses size %d', (size) => {
    expect(() => new Limiter(size)).toThrow(RangeError);
  });

  it.each([1, 2, 3, 5])('never runs more than %i tasks at once, and starts them in order', async (size) => {
    const limiter = new Limiter(size);
    const h = harness(limiter);
    const names = Array.from({ length: 12 }, (_, i) => `t${i}`);
    const results = names.map((n) => h.run(n));
    await flushMicrotasks();
    expect(h.started).toEqual(names.slice(0, size));
    // Release in a scrambled order (some gates open before their task starts); whatever finishes,
    // the next waiter in submission order takes the slot.
    const order = [...names].sort((a, b) => a.length - b.length || b.localeCompare(a));
    for (const name of order) {
      h.release(name);
      await flushMicrotasks();
      expect(h.active).toBeLessThanOrEqual(size);
    }
    expect(await Promise.all(results)).toEqual(names);
    expect(h.maxActive).toBe(size);
    expect(h.started).toEqual(names);
  });

  it('starts the next waiter as soon as a slot is free', async () => {
    const h = harness(new Limiter(2));
    const a = h.run('a');
    const b = h.run('b');
    const c = h.run('c');
    await flushMicrotasks();
    expect(h.started).toEqual(['a', 'b']);
    h.release('b');
    await flushMicrotasks();
    expect(h.started).toEqual(['a', 'b', 'c']);
    h.release('a');
    h.release('c');
    expect(await Promise.all([a, b, c])).toEqual(['a', 'b', 'c']);
  });

  it('an error is passed to the caller and releases the slot', async () => {
    const h = harness(new Limiter(1));
    const a = h.run('a', true);
    const b = h.run('b');
    const aSettled = a.catch((e: unknown) => e);
    await flushMicrotasks();
    expect(h.started).toEqual(['a']);
    h.release('a');
    expect(((await aSettled) as Error).message).toBe('a failed');
    await flushMicrotasks();
    expect(h.started).toEqual(['a', 'b']);
    h.release('b');
    expect(await b).toBe('b');
  });

  it('a task that throws synchronously also releases the slot', async () => {
    const limiter = new Limiter(1);
    await expect(
      limiter.run(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    expect(await limiter.run(async () => 42)).toBe(42);
  });

  it('many failures in a row never leak slots', async () => {
    const limiter = new Limiter(2);
    const failures = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => limiter.run(async () => Promise.reject(new Error(String(i))))));
    expect(failures.every((f) => f.status === 'rejected')).toBe(true);
    let active = 0;
    let max = 0;
    await Promise.all(
      Array.from({ length: 6 }, () =>
        limiter.run(async () => {
          active++;
          max = Math.max(max, active);
          await new Promise((r) => setTimeout(r, 1));
          active--;
        }),
      ),
    );
    expect(max).toBe(2);
  });

  // Regression (found by these tests, fixed): a finishing task decrements `active` and wakes the first waiter, but the waiter only
  // increments `active` a few microtasks later. A run() call landing in that window sees a free
  // slot and starts at once: with Limiter(1), task C runs alongside the woken waiter B (2 at once)
  // and overtakes it (start order A, C, B). Reproduced below for a call made 3 microtask turns
  // after A's release; the sweep makes the test independent of the exact number of turns.
  it('a run() call made while a waiter is being woken neither exceeds the limit nor overtakes it', async () => {
    for (let depth = 0; depth <= 8; depth++) {
      const limiter = new Limiter(1);
      const h = harness(limiter);
      const a = h.run('A');
      const b = h.run('B');
      await flushMicrotasks();
      let c: Promise<string> | undefined;
      const late = (async () => {
        for (let k = 0; k < depth; k++) await null;
        c = h.run('C');
      })();
      h.release('A');
      await a;
      await late;
      await flushMicrotasks();
      expect(h.maxActive, `call ${depth} microtasks after the release`).toBe(1);
      expect(h.started, `call ${depth} microtasks after the release`).toEqual(['A', 'B']);
      h.release('B');
      await b;
      await flushMicrotasks();
      h.release('C');
      await c;
    }
  });
});
