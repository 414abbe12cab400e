import { AppError, describeError } from '../core/index.js';

/** A plugin failed: at load time (bad shape, wrong API version) or while running for one video. */
export class PluginError extends AppError {
  readonly plugin: string;
  constructor(plugin: string, message: string, options: { cause?: unknown; retryable?: boolean; code?: string } = {}) {
    super(options.code ?? 'E_PLUGIN', `plugin ${plugin}: ${message}`, options);
    this.plugin = plugin;
  }

  /** Wraps whatever a plugin threw, keeping the cause's retryability and the plugin's name. */
  static from(plugin: string, where: string, err: unknown): PluginError {
    if (err instanceof PluginError && err.plugin === plugin) return err;
    const retryable = err instanceof AppError ? err.retryable : false;
    return new PluginError(plugin, `${where}: ${describeError(err)}`, { cause: err, retryable });
  }
}
