import type { Video } from '../core/index.js';

/** The text fields every store indexes, weighted title > tags > description > file name. */
export interface SearchFields {
  title: string;
  tags: string;
  description: string;
  filename: string;
}

export function searchFields(video: Video): SearchFields {
  const file = video.file.path.split(/[\\/]/).pop() ?? '';
  const sceneText = video.scenes.map((s) => s.description ?? '').filter(Boolean).join(' ');
  return {
    title: [video.source.title, video.metadata?.containerTags.title].filter(Boolean).join(' '),
    tags: [...video.tags.map((t) => t.name), ...video.categories.map((c) => c.name), ...(video.ai?.actions ?? [])].join(' '),
    description: [video.ai?.description, sceneText, video.source.description].filter(Boolean).join(' '),
    // Split names on separators and camelCase so "beachDay_2024.mp4" finds "beach".
    filename: file.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/[_\-.]+/g, ' '),
  };
}

/** Short side class: sd < 720 <= hd < 1080 <= fhd < 2160 <= 4k. */
export function resolutionClass(width: number, height: number): string {
  const short = Math.min(width, height);
  if (short >= 2160) return '4k';
  if (short >= 1080) return 'fhd';
  if (short >= 720) return 'hd';
  return 'sd';
}

export function hasFailedStage(video: Video): boolean {
  return Object.values(video.stages).some((s) => s.status === 'failed');
}
