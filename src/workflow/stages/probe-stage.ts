import { probeVideo } from '../../analysis/index.js';
import { hashInputs } from '../pipeline-runner.js';
import type { Stage } from '../stage.js';

/** ffprobe → `metadata`. Depends only on the file's content. */
export const probeStage: Stage = {
  name: 'probe',
  // 2: rotation is clockwise (it had the display matrix's counter-clockwise sign); 3: 12-bit was recorded as
  // 10-bit and 8-bit VP9 had no bitDepth; 4: videoStartSec (a video starting after its file),
  // non-square pixels' display width with sampleAspectRatio, and videoStreamIndex (a cover listed first); 5: Matroska/WebM/MP4 written with a start offset counted the offset in
  // durationSec (and Matroska in frameCount). Records are probed again.
  version: '5',
  needs: ['acquire'],
  resource: 'cpu',
  inputHash: (video) => hashInputs(video.file.sha256),
  async run(video, ctx) {
    const metadata = await probeVideo(ctx.tools.ffprobe.path, video.file.path, { signal: ctx.signal, timeoutMs: 120_000, bundled: ctx.tools.ffprobe.origin === 'bundled' });
    if (metadata.truncated) {
      ctx.logger.warn({ video: video.id, file: video.file.path, playsSec: metadata.durationSec, headerSec: metadata.truncated.headerSec }, 'file is cut short: its header promises more than is there');
    }
    return { metadata };
  },
};
