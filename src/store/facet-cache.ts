import type { Facets } from './search-query.js';

export interface CountedMatch {
  total: number;
  facets: Facets;
}

/**
 * Total and facets per filter, kept while the data is unchanged: a browse page repeats the same few filters.
 * Each store says what "unchanged" means by a generation string (a write counter, a snapshot); an entry of an
 * older generation is never returned, and the first entry of a new one drops them all. Callers get copies.
 */
export class FacetCache {
  private readonly entries = new Map<string, CountedMatch>();
  private generation = '';

  constructor(private readonly size = 64) {}

  get(generation: string, key: string): CountedMatch | undefined {
    const hit = generation === this.generation ? this.entries.get(key) : undefined;
    return hit && { total: hit.total, facets: structuredClone(hit.facets) };
  }

  /** Keeps `value` under `generation` (the one it was counted in) and returns a copy of it. */
  set(generation: string, key: string, value: CountedMatch): CountedMatch {
    if (generation !== this.generation) {
      this.entries.clear();
      this.generation = generation;
    }
    if (this.entries.size >= this.size) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, value);
    return { total: value.total, facets: structuredClone(value.facets) };
  }
}
