export { runTool, INSTALL_HINTS } from './run-tool.js';
export type { RunToolOptions, RunToolResult } from './run-tool.js';
export { MediaTools, findOnPath, locateTool, toolVersion } from './media-tools.js';
export type { ToolInfo, ToolName, ToolOrigin } from './media-tools.js';
