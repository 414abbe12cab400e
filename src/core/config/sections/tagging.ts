import { bool, list, num, str } from '../config-key.js';

export const Tagging = {
  RulesFile: str('', 'Tag rules (YAML or JSON). Empty: no user rules.'),
  Taxonomy: str('', 'Taxonomy file (YAML or JSON) of categories. Empty: no taxonomy.'),
  ActionLabels: str('', 'Action vocabulary, one label a line (e.g. Kinetics-400 names).'),
  FilenameTags: bool(true, 'Tag from file and folder names.'),
  MetadataTags: bool(true, 'Tag from technical metadata and container tags.'),
  AiTags: bool(true, 'Tag from the model answer.'),
  StopWords: list([], 'Extra words never used as file-name tags.'),
  FuzzyThreshold: num(0.8, { min: 0, max: 1 }, 'Smallest similarity for mapping a model label onto the taxonomy.'),
} as const;
