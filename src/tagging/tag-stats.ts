import type { Category, Video } from '../core/index.js';
import { UNMAPPED } from './tag-merge.js';
import { needsReview } from './tagging-setup.js';

/** One tag's counts over records: in how many records, and by which source. */
export interface TagCount {
  name: string;
  videos: number;
  bySource: Record<string, number>;
  /** Mean confidence over the records that have it. */
  meanConfidence: number;
}

/** Accumulates tag counts over a stream of records. */
export class TagCounter {
  private readonly counts = new Map<string, { videos: number; bySource: Record<string, number>; conf: number }>();
  records = 0;

  add(video: Pick<Video, 'tags'>, source?: string): void {
    this.records++;
    for (const t of video.tags) {
      if (source && t.source !== source) continue;
      let c = this.counts.get(t.name);
      if (!c) this.counts.set(t.name, (c = { videos: 0, bySource: {}, conf: 0 }));
      c.videos++;
      c.bySource[t.source] = (c.bySource[t.source] ?? 0) + 1;
      c.conf += t.confidence ?? 1;
    }
  }

  /** Most used first, then by name. */
  result(): TagCount[] {
    return [...this.counts.entries()]
      .map(([name, c]) => ({ name, videos: c.videos, bySource: c.bySource, meanConfidence: Math.round((c.conf / c.videos) * 1000) / 1000 }))
      .sort((a, b) => b.videos - a.videos || a.name.localeCompare(b.name));
  }
}

export interface CategoryCount {
  name: string;
  kind: 'category' | 'action';
  videos: number;
  bySource: Record<string, number>;
  meanConfidence: number;
}

/** Accumulates category counts (unmapped answers excluded: see ReviewCollector). */
export class CategoryCounter {
  private readonly counts = new Map<string, CategoryCount & { conf: number }>();
  records = 0;
  unmapped = 0;

  add(video: Pick<Video, 'categories'>): void {
    this.records++;
    const seen = new Set<string>();
    for (const c of video.categories) {
      if (c.name === UNMAPPED) {
        this.unmapped++;
        continue;
      }
      const kind = c.kind ?? 'category';
      const key = `${kind}\u0000${c.name}`;
      if (seen.has(key)) continue;
      seen.add(key);
      let e = this.counts.get(key);
      if (!e) this.counts.set(key, (e = { name: c.name, kind, videos: 0, bySource: {}, meanConfidence: 0, conf: 0 }));
      e.videos++;
      e.bySource[String(c.source)] = (e.bySource[String(c.source)] ?? 0) + 1;
      e.conf += c.confidence ?? 1;
    }
  }

  result(): CategoryCount[] {
    return [...this.counts.values()]
      .map(({ conf, ...c }) => ({ ...c, meanConfidence: Math.round((conf / c.videos) * 1000) / 1000 }))
      .sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'category' ? -1 : 1) || b.videos - a.videos || a.name.localeCompare(b.name));
  }
}

/** A model answer that matched nothing, over all the records that gave it. */
export interface UnmappedAnswer {
  label: string;
  kind: 'category' | 'action';
  videos: number;
  /** The closest label and its similarity, when any came near. */
  closest: string | null;
  examples: string[];
}

export interface LowConfidenceItem {
  videoId: string;
  name: string;
  category: string;
  kind: 'category' | 'action';
  confidence: number;
  source: string;
  match?: string;
  label?: string;
}

/** Collects what `videodex review` shows: unmapped answers grouped, and low-confidence categories. */
export class ReviewCollector {
  private readonly unmapped = new Map<string, UnmappedAnswer>();
  readonly low: LowConfidenceItem[] = [];
  lowTotal = 0;

  constructor(
    private readonly reviewBelow: number,
    private readonly maxLow = 200,
  ) {}

  add(video: Pick<Video, 'id' | 'categories'>, name: string): void {
    for (const c of video.categories) {
      if (!needsReview(c, this.reviewBelow)) continue;
      if (c.name === UNMAPPED) this.addUnmapped(video.id, c);
      else {
        this.lowTotal++;
        if (this.low.length < this.maxLow) {
          this.low.push({
            videoId: video.id,
            name,
            category: c.name,
            kind: c.kind ?? 'category',
            confidence: c.confidence ?? 1,
            source: String(c.source),
            ...(c.match ? { match: c.match } : {}),
            ...(c.label ? { label: c.label } : {}),
          });
        }
      }
    }
  }

  private addUnmapped(id: string, c: Category): void {
    const label = (c.label ?? '').trim();
    const kind = c.kind ?? 'category';
    const key = `${kind}\u0000${label.toLowerCase()}`;
    let e = this.unmapped.get(key);
    if (!e) this.unmapped.set(key, (e = { label, kind, videos: 0, closest: c.rule?.startsWith('closest: ') ? c.rule.slice(9) : null, examples: [] }));
    e.videos++;
    if (e.examples.length < 3) e.examples.push(id);
  }

  unmappedAnswers(): UnmappedAnswer[] {
    return [...this.unmapped.values()].sort((a, b) => b.videos - a.videos || a.label.localeCompare(b.label));
  }
}
