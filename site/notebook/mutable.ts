// The `Mutable` builtin: `mutable x = v` keeps a Mutable; cells that assign `mutable x` set its
// value, and `x` (the Mutable's generator) re-runs everything that reads x.
import { observe } from './generators.ts';

export class Mutable<T> {
  readonly generator: Generator<Promise<T>>;
  #value: T;
  #change!: (value: T) => void;

  constructor(value: T) {
    this.#value = value;
    this.generator = observe<T>((change) => { this.#change = change; });
    if (value !== undefined) this.#change(value);
  }

  get value(): T { return this.#value; }
  set value(value: T) { this.#change(this.#value = value); }
}
