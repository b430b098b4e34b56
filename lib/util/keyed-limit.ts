// One Limiter per key (a registry host): at most `size` tasks at once for each key.
import { Limiter } from './limit.ts';

export class KeyedLimiter {
  private readonly limiters = new Map<string, Limiter>();

  constructor(readonly size: number) {}

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    let limiter = this.limiters.get(key);
    if (!limiter) {
      limiter = new Limiter(this.size);
      this.limiters.set(key, limiter);
    }
    return limiter.run(task);
  }
}
