/**
 * A SentencePiece-style ("llama" tokenizer model) vocabulary, as llama.cpp's
 * SPM tokenizer reads it: <unk>, <s>, </s>, the 256 byte-fallback tokens
 * <0x00>…<0xFF>, then text pieces where "▁" stands for a space. The tokenizer
 * merges adjacent pieces into any piece the vocabulary holds, highest score
 * first, so every word comes with all its prefixes: "▁t", "▁th", "▁the".
 */

/** llama.cpp's llama_token_type values. */
export const TokenType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, BYTE: 6 } as const;

export interface SpmVocab {
  readonly tokens: readonly string[];
  readonly scores: readonly number[];
  readonly types: readonly number[];
  readonly unkId: number;
  readonly bosId: number;
  readonly eosId: number;
  /** Ids of the byte-fallback and control tokens (the model is told to avoid emitting them). */
  readonly nonTextIds: ReadonlySet<number>;
}

const SPACE = "\u2581";
const CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:!?'\"()-/";
const WORDS = (
  "the of and to in is that for it as was with be by on not he this are or his from at which but have an they you were " +
  "her she there one all we their can has been if more when will would who so no what out up said about other into than " +
  "its time only could new them man some these then two first may any like now my such make over our even most me state " +
  "after also made many did must before back see through way where get much go well your know should down work year because " +
  "come people just say each those take day good how long little use own very great world still last never old being both " +
  "cache prefix token model state block memory disk node cluster store load key value prompt text fast warm cold layer"
).split(" ");

/** The vocabulary every generated model uses (a few hundred pieces). */
export function buildSpmVocab(): SpmVocab {
  const tokens: string[] = ["<unk>", "<s>", "</s>"];
  const types: number[] = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
    types.push(TokenType.BYTE);
  }
  const nonText = new Set(tokens.map((_, id) => id));
  const seen = new Set<string>();
  const addPiece = (piece: string): void => {
    if (seen.has(piece)) return;
    seen.add(piece);
    tokens.push(piece);
    types.push(TokenType.NORMAL);
  };
  addPiece(SPACE);
  for (const c of CHARS) addPiece(c);
  for (const word of WORDS) {
    const piece = SPACE + word;
    for (let end = 2; end <= piece.length; end++) addPiece(piece.slice(0, end));
  }
  // Longer pieces score higher, so merges prefer whole words.
  const scores = tokens.map((t, id) => (types[id] === TokenType.NORMAL ? t.length * 10 - id / 1000 : 0));
  return { tokens, scores, types, unkId: 0, bosId: 1, eosId: 2, nonTextIds: nonText };
}
