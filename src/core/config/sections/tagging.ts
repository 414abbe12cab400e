import { bool, int, list, num, str } from '../config-key.js';

export const Tagging = {
  RulesFile: str('', 'Tag rules (YAML or JSON), see docs/tagging.md. Empty: no user rules.'),
  Taxonomy: str('', 'Taxonomy file (YAML or JSON) of categories, synonyms and actions. Empty: no taxonomy (model categories kept as answered).'),
  ActionLabels: str('', 'Action vocabulary, one label a line (e.g. Kinetics-400 names). Empty: actions kept as answered.'),
  FilenameTags: bool(true, 'Tag from file and folder names.'),
  MetadataTags: bool(true, 'Tag from technical metadata and container tags.'),
  AiTags: bool(true, 'Tag from the model answer.'),
  StopWords: list([], 'Extra words never used as file-name tags.'),
  FolderDepth: int(2, { min: 0, max: 10 }, 'How many parent folders of the file name give words for tags.'),
  MinWordLength: int(2, { min: 1, max: 20 }, 'Shortest file-name word kept as a tag.'),
  FuzzyThreshold: num(0.8, { min: 0, max: 1 }, 'Smallest similarity for mapping a model label onto the taxonomy.'),
  ReviewBelow: num(0.75, { min: 0, max: 1 }, 'videodex review lists categories whose confidence is below this (and every unmapped answer).'),
} as const;
