/**
 * BERT WordPiece tokenization (`bert-base-uncased`) through `@huggingface/tokenizers` (the
 * pure-JS port of Hugging Face's tokenizers), from the user's local files — never a download.
 *
 * - `tokenizer.json` (Hugging Face's serialised tokenizer) is used as it is.
 * - `vocab.txt` (one WordPiece a line, id = line number) becomes the tokenizer that
 *   `BertTokenizerFast(do_lower_case=True)` builds from it: BERT normaliser (clean text,
 *   Chinese characters split, lower case, accents stripped), BERT pre-tokeniser (whitespace
 *   and punctuation), WordPiece with `##` continuations and `[UNK]` for words longer than
 *   100 characters or without a split; `[PAD] [UNK] [CLS] [SEP] [MASK]` are special tokens
 *   (so a literal `[SEP]` in a text is the separator, as QQP's joined questions need).
 *
 * `encodeFixed` is `tokenizer(text, truncation=True, padding="max_length", max_length=L)`:
 * `[CLS] w_1 … w_{L−2} [SEP]` then `[PAD]` up to L (pieces past L − 2 are cut).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { isFile, sha256 } from '../core/data-files.js';

export const BERT_SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;
/** The folder name looked for under a data root: `<root>/bert-base-uncased/{tokenizer.json,vocab.txt}`. */
export const BERT_TOKENIZER_DIR = 'bert-base-uncased';

export interface WordPiece {
  /** The file read (tokenizer.json or vocab.txt). */
  file: string;
  format: 'tokenizer.json' | 'vocab.txt';
  /** sha256 of the file. */
  checksum: string;
  vocabSize: number;
  pad: number;
  cls: number;
  sep: number;
  unk: number;
  /** WordPiece ids without special tokens around them. */
  pieces(text: string): number[];
  /** `[CLS] pieces… [SEP]` cut to `length` and padded with `[PAD]` after (into `out`). */
  encodeFixed(text: string, length: number, out?: Int32Array): Int32Array;
}

/** The candidate files for a tokenizer `path` (a file or a folder) in order of preference. */
export function tokenizerCandidates(root: string): string[] {
  if (root.endsWith('.json') || root.endsWith('.txt')) return [root];
  const dirs = [root, join(root, BERT_TOKENIZER_DIR)];
  return dirs.flatMap((d) => [join(d, 'tokenizer.json'), join(d, 'vocab.txt')]);
}

/** The first existing tokenizer file among `roots`' candidates, and every path tried. */
export function findTokenizer(roots: string[]): { file: string | null; tried: string[] } {
  const tried: string[] = [];
  for (const root of roots) {
    for (const f of tokenizerCandidates(root)) {
      if (isFile(f)) return { file: f, tried };
      tried.push(f);
    }
  }
  return { file: null, tried };
}

/** A Hugging Face tokenizer.json for BERT (uncased) from a vocab.txt's lines. */
export function bertTokenizerJson(vocabLines: string[], file: string): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  vocabLines.forEach((w, i) => {
    if (w !== '' && !(w in vocab)) vocab[w] = i;
  });
  const missing = BERT_SPECIAL_TOKENS.filter((t) => !(t in vocab));
  if (missing.length) throw new Error(`${file}: not a BERT vocabulary: no ${missing.join(', ')} line (expected bert-base-uncased's vocab.txt, one WordPiece a line)`);
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: BERT_SPECIAL_TOKENS.map((content) => ({ id: vocab[content], content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: null,
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
}

const cache = new Map<string, WordPiece>();

/** Load a WordPiece tokenizer from a tokenizer.json or vocab.txt (cached per file). */
export function loadWordPiece(file: string): WordPiece {
  const hit = cache.get(file);
  if (hit) return hit;
  const bytes = readFileSync(file);
  const format = file.endsWith('.txt') ? 'vocab.txt' : 'tokenizer.json';
  let json: Record<string, unknown>;
  if (format === 'vocab.txt') {
    json = bertTokenizerJson(bytes.toString('utf8').split(/\r?\n/).map((l) => l.trimEnd()), file);
  } else {
    try {
      json = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new Error(`${file}: not valid JSON (${err instanceof Error ? err.message : String(err)}); expected Hugging Face's tokenizer.json of bert-base-uncased`);
    }
    const model = json.model as { type?: string } | undefined;
    if (!model || model.type !== 'WordPiece') throw new Error(`${file}: model.type: expected 'WordPiece' (bert-base-uncased's tokenizer.json), got ${JSON.stringify(model?.type)}`);
  }
  const tk = new Tokenizer(json, {});
  const id = (t: string): number => {
    const v = tk.token_to_id(t);
    if (v === undefined) throw new Error(`${file}: no token ${t} (expected a BERT vocabulary with ${BERT_SPECIAL_TOKENS.join(' ')})`);
    return v;
  };
  const pad = id('[PAD]');
  const cls = id('[CLS]');
  const sep = id('[SEP]');
  const unk = id('[UNK]');
  let vocabSize = 0;
  for (const v of tk.get_vocab(true).values()) vocabSize = Math.max(vocabSize, v + 1);
  const pieces = (text: string): number[] => tk.encode(text, { add_special_tokens: false }).ids;
  const wp: WordPiece = {
    file,
    format,
    checksum: sha256(bytes),
    vocabSize,
    pad,
    cls,
    sep,
    unk,
    pieces,
    encodeFixed(text, length, out = new Int32Array(length)) {
      if (!Number.isInteger(length) || length < 2) throw new Error(`encodeFixed: length: expected an integer ≥ 2 ([CLS] and [SEP]), got ${length}`);
      const ids = pieces(text);
      const keep = Math.min(ids.length, length - 2);
      out[0] = cls;
      for (let i = 0; i < keep; i++) out[1 + i] = ids[i];
      out[1 + keep] = sep;
      out.fill(pad, 2 + keep, length);
      return out;
    },
  };
  cache.set(file, wp);
  return wp;
}
