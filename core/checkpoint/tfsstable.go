package checkpoint

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// The index file of a TensorFlow tensor bundle (PREFIX.index) is a LevelDB
// "table" (SSTable) as written by TensorFlow's tsl/lib/io/table_builder:
// data blocks of prefix-compressed key/value entries, each block followed by
// a 5-byte trailer (compression type, masked CRC32C), an index block mapping
// each data block's last key to its handle, and a 48-byte footer ending in a
// magic number. This file reads such a table whole; it is small (a few KB for
// BERT-Base: one entry per variable).

// sstableMagic ends every table footer (LevelDB's kTableMagicNumber).
const sstableMagic = 0xdb4775248b80fb57

// sstableFooterLen is the footer's fixed size: two block handles padded to
// 40 bytes, then the 8-byte magic.
const sstableFooterLen = 48

// castagnoli is the CRC32C table (TensorFlow's and LevelDB's checksums).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crcMaskDelta is LevelDB's/TensorFlow's CRC masking constant.
const crcMaskDelta = 0xa282ead8

// unmaskCRC inverts crc32c::Mask (rotate right by 15 after adding the delta),
// which LevelDB and TensorFlow apply to checksums stored beside data.
func unmaskCRC(m uint32) uint32 {
	rot := m - crcMaskDelta
	return rot>>17 | rot<<15
}

// sstableEntry is one key/value pair of a table, in file order.
type sstableEntry struct {
	key, value []byte
}

// blockHandle locates a block inside the table file.
type blockHandle struct {
	offset, size uint64
}

// readSSTable decodes every entry of the table in data (the whole .index
// file). file names the file in errors.
func readSSTable(data []byte, file string) ([]sstableEntry, error) {
	if len(data) < sstableFooterLen {
		return nil, fmt.Errorf("%s: %d bytes is too short for a TensorFlow bundle index (footer is %d bytes)", file, len(data), sstableFooterLen)
	}
	footer := data[len(data)-sstableFooterLen:]
	if m := binary.LittleEndian.Uint64(footer[40:]); m != sstableMagic {
		return nil, fmt.Errorf("%s: not a TensorFlow bundle index (table magic %#x, want %#x)", file, m, uint64(sstableMagic))
	}
	_, n, err := readBlockHandle(footer, file) // metaindex: unused by bundles
	if err != nil {
		return nil, err
	}
	index, _, err := readBlockHandle(footer[n:], file)
	if err != nil {
		return nil, err
	}
	indexBlock, err := readBlock(data, index)
	if err != nil {
		return nil, fmt.Errorf("%s: index block: %w", file, err)
	}
	handles, err := blockEntries(indexBlock)
	if err != nil {
		return nil, fmt.Errorf("%s: index block: %w", file, err)
	}
	var out []sstableEntry
	for i, h := range handles {
		bh, _, err := readBlockHandle(h.value, file)
		if err != nil {
			return nil, fmt.Errorf("%s: index entry %d: %w", file, i, err)
		}
		blk, err := readBlock(data, bh)
		if err != nil {
			return nil, fmt.Errorf("%s: data block %d: %w", file, i, err)
		}
		es, err := blockEntries(blk)
		if err != nil {
			return nil, fmt.Errorf("%s: data block %d: %w", file, i, err)
		}
		out = append(out, es...)
	}
	return out, nil
}

// readBlockHandle decodes a BlockHandle (two varints) and returns the bytes
// it used.
func readBlockHandle(b []byte, file string) (blockHandle, int, error) {
	off, n1 := binary.Uvarint(b)
	if n1 <= 0 {
		return blockHandle{}, 0, fmt.Errorf("%s: corrupt block handle (offset varint)", file)
	}
	size, n2 := binary.Uvarint(b[n1:])
	if n2 <= 0 {
		return blockHandle{}, 0, fmt.Errorf("%s: corrupt block handle (size varint)", file)
	}
	return blockHandle{off, size}, n1 + n2, nil
}

// readBlock returns the contents of the block at h after checking its
// trailer: compression type 0 (TensorFlow writes bundle indexes uncompressed)
// and the masked CRC32C of contents+type.
func readBlock(data []byte, h blockHandle) ([]byte, error) {
	end := h.offset + h.size
	if h.offset > uint64(len(data)) || end+5 > uint64(len(data)) || end < h.offset {
		return nil, fmt.Errorf("block [%d, +%d) runs past the end of the file (%d bytes): truncated index?", h.offset, h.size, len(data))
	}
	contents := data[h.offset:end]
	typ := data[end]
	want := unmaskCRC(binary.LittleEndian.Uint32(data[end+1:]))
	if got := crc32.Update(crc32.Checksum(contents, castagnoli), castagnoli, []byte{typ}); got != want {
		return nil, fmt.Errorf("block at offset %d: CRC32C mismatch (stored %#08x, computed %#08x): corrupt index", h.offset, want, got)
	}
	if typ != 0 {
		return nil, fmt.Errorf("block at offset %d: compression type %d is not supported (TensorFlow writes bundle indexes uncompressed)", h.offset, typ)
	}
	return contents, nil
}

// blockEntries decodes the prefix-compressed entries of one block: each is
// varint shared, varint non-shared, varint value length, the key's
// non-shared suffix and the value; a restart array of uint32 offsets and its
// count close the block.
func blockEntries(blk []byte) ([]sstableEntry, error) {
	if len(blk) < 4 {
		return nil, fmt.Errorf("block of %d bytes has no restart count", len(blk))
	}
	nRestarts := binary.LittleEndian.Uint32(blk[len(blk)-4:])
	limit := uint64(len(blk)) - 4 - 4*uint64(nRestarts)
	if 4*uint64(nRestarts)+4 > uint64(len(blk)) {
		return nil, fmt.Errorf("block of %d bytes cannot hold %d restart points", len(blk), nRestarts)
	}
	var out []sstableEntry
	var prev []byte
	for p := uint64(0); p < limit; {
		var v [3]uint64
		for i := range v {
			x, n := binary.Uvarint(blk[p:limit])
			if n <= 0 {
				return nil, fmt.Errorf("entry at block offset %d: corrupt varint", p)
			}
			v[i], p = x, p+uint64(n)
		}
		shared, nonShared, valLen := v[0], v[1], v[2]
		if shared > uint64(len(prev)) || nonShared > limit-p || valLen > limit-p-nonShared {
			return nil, fmt.Errorf("entry at block offset %d: lengths (shared %d, key %d, value %d) run past the block", p, shared, nonShared, valLen)
		}
		key := make([]byte, 0, shared+nonShared)
		key = append(append(key, prev[:shared]...), blk[p:p+nonShared]...)
		p += nonShared
		out = append(out, sstableEntry{key: key, value: blk[p : p+valLen]})
		p += valLen
		prev = key
	}
	return out, nil
}
