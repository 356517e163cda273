package tokenize

// ModelKind names the segmentation model of a tokenizer (HF `model.type`).
type ModelKind int

const (
	// ModelWordPiece is HF's WordPiece (BERT family): greedy longest-match-first
	// with a continuing-subword prefix.
	ModelWordPiece ModelKind = iota + 1
	// ModelUnigram is HF's Unigram (SentencePiece, DeBERTa-v3): Viterbi over
	// piece log-probabilities.
	ModelUnigram
)

// String returns the HF type name.
func (m ModelKind) String() string {
	switch m {
	case ModelWordPiece:
		return "WordPiece"
	case ModelUnigram:
		return "Unigram"
	}
	return "unknown"
}

// piece is one model token inside a word: byte offsets [s, e) in the word,
// its id, and whether its surface is the raw text (Unigram unknown runs)
// rather than the vocabulary entry of id.
type piece struct {
	id   int32
	s, e int
	raw  bool
}

// model segments one pre-tokenized word.
type model interface {
	kind() ModelKind
	tokenize(word []byte, out []piece, ws *workspace) []piece
	tokenToID(tok string) (int32, bool)
	idToToken(id int32) (string, bool)
	size() int
}

// workspace holds per-goroutine scratch buffers.
type workspace struct {
	best       []bestNode
	pieces     []piece
	rev        []piece
	toks       []rawTok
	segs       []segment
	norm       normalized
	pieceViews []view
	words      []view
	views      []view
	conv       charConverter
}

// converter prepares the byte-to-code-point converter of text.
func (ws *workspace) converter(text string) *charConverter {
	ws.conv.reset(text)
	return &ws.conv
}
