package checkpoint

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
)

// A data-only unpickler for the subset of the pickle protocol torch.save
// emits (protocol 2, plus the protocol 3-5 framing opcodes). It follows the
// torch.load(weights_only=True) rule: a GLOBAL is accepted only when it names
// a class or function on the tensor-rebuild allowlist below, and nothing is
// ever executed — REDUCE on an allowed global is interpreted by this package.

// Python values produced by the unpickler.
type (
	pyGlobal struct{ module, name string }
	pyTuple  []any
	pyList   struct{ items []any }
	pyDict   struct {
		keys []any
		vals []any
	}
	// storageRef is a persistent-id reference to archive/data/<key>.
	storageRef struct {
		dtype DType
		key   string
		numel int64
	}
	// tensorRef is the result of torch._utils._rebuild_tensor_v2.
	tensorRef struct {
		storage *storageRef
		offset  int64
		size    []int64
		stride  []int64
	}
	pyMarkT struct{}
)

var pyMark = pyMarkT{}

func (g pyGlobal) String() string { return g.module + "." + g.name }

// allowedGlobals is the torch weights_only allowlist (torch/_weights_only_unpickler.py
// `_get_allowed_globals` for the objects a state_dict contains).
var allowedGlobals = map[string]bool{
	"collections.OrderedDict":                    true,
	"torch._utils._rebuild_tensor_v2":            true,
	"torch._utils._rebuild_parameter":            true,
	"torch._utils._rebuild_parameter_with_state": true,
	"torch.Size": true,
}

// storageDTypes maps torch's legacy typed-storage classes to element types.
var storageDTypes = map[string]DType{
	"FloatStorage":    F32,
	"HalfStorage":     F16,
	"BFloat16Storage": BF16,
	"DoubleStorage":   F64,
	"LongStorage":     I64,
	"IntStorage":      I32,
	"ShortStorage":    I16,
	"CharStorage":     I8,
	"ByteStorage":     U8,
	"BoolStorage":     Bool,
}

func checkGlobal(module, name string) (pyGlobal, error) {
	g := pyGlobal{module, name}
	if allowedGlobals[g.String()] {
		return g, nil
	}
	if module == "torch" {
		if _, ok := storageDTypes[name]; ok {
			return g, nil
		}
	}
	return g, fmt.Errorf("pickle: global %s is not allowed (data-only unpickler: only tensor-rebuild globals)", g)
}

// maxPickleDepth bounds the stack and mark depth.
const maxPickleDepth = 1 << 20

type unpickler struct {
	data  []byte
	pos   int
	stack []any
	marks []int
	memo  map[uint32]any
}

func (u *unpickler) errf(format string, a ...any) error {
	return fmt.Errorf("pickle offset %d: %s", u.pos, fmt.Sprintf(format, a...))
}

func (u *unpickler) read(n int) ([]byte, error) {
	if n < 0 || n > len(u.data)-u.pos {
		return nil, u.errf("truncated: need %d bytes, %d left", n, len(u.data)-u.pos)
	}
	b := u.data[u.pos : u.pos+n]
	u.pos += n
	return b, nil
}

func (u *unpickler) readLine() (string, error) {
	i := strings.IndexByte(string(u.data[u.pos:min(len(u.data), u.pos+1024)]), '\n')
	if i < 0 {
		return "", u.errf("unterminated line")
	}
	s := string(u.data[u.pos : u.pos+i])
	u.pos += i + 1
	return s, nil
}

func (u *unpickler) push(v any) error {
	if len(u.stack) >= maxPickleDepth {
		return u.errf("stack too deep")
	}
	u.stack = append(u.stack, v)
	return nil
}

func (u *unpickler) pop() (any, error) {
	if len(u.stack) == 0 {
		return nil, u.errf("stack underflow")
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	if v == pyMark {
		return nil, u.errf("unexpected MARK on stack")
	}
	return v, nil
}

func (u *unpickler) top() (any, error) {
	if len(u.stack) == 0 {
		return nil, u.errf("stack underflow")
	}
	return u.stack[len(u.stack)-1], nil
}

// popMark pops everything above the last MARK.
func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, u.errf("no MARK")
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	if m > len(u.stack) {
		return nil, u.errf("MARK above stack")
	}
	items := append([]any(nil), u.stack[m:]...)
	u.stack = u.stack[:m]
	return items, nil
}

func (u *unpickler) lenPrefixed(width int) ([]byte, error) {
	b, err := u.read(width)
	if err != nil {
		return nil, err
	}
	var n uint64
	switch width {
	case 1:
		n = uint64(b[0])
	case 4:
		n = uint64(binary.LittleEndian.Uint32(b))
	case 8:
		n = binary.LittleEndian.Uint64(b)
	}
	if n > uint64(len(u.data)-u.pos) {
		return nil, u.errf("truncated: length %d exceeds the %d bytes left", n, len(u.data)-u.pos)
	}
	return u.read(int(n))
}

func (u *unpickler) memoPut(i uint32) error {
	v, err := u.top()
	if err != nil {
		return err
	}
	if v == pyMark {
		return u.errf("memoising a MARK")
	}
	u.memo[i] = v
	return nil
}

func (u *unpickler) memoGet(i uint32) error {
	v, ok := u.memo[i]
	if !ok {
		return u.errf("memo key %d not found", i)
	}
	return u.push(v)
}

// unpickle runs the pickle program in data; persistent ids are resolved by
// persistentLoad.
func unpickle(data []byte, persistentLoad func(pid any) (any, error)) (any, error) {
	u := &unpickler{data: data, memo: map[uint32]any{}}
	for {
		if u.pos >= len(u.data) {
			return nil, u.errf("truncated: no STOP opcode")
		}
		op := u.data[u.pos]
		u.pos++
		done, err := u.step(op, persistentLoad)
		if err != nil {
			return nil, err
		}
		if done {
			v, err := u.pop()
			if err != nil {
				return nil, err
			}
			return v, nil
		}
	}
}

func (u *unpickler) step(op byte, persistentLoad func(any) (any, error)) (bool, error) {
	switch op {
	case 0x80: // PROTO
		b, err := u.read(1)
		if err != nil {
			return false, err
		}
		if b[0] > 5 {
			return false, u.errf("unsupported pickle protocol %d", b[0])
		}
	case 0x95: // FRAME
		if _, err := u.read(8); err != nil {
			return false, err
		}
	case '.': // STOP
		return true, nil
	case '(': // MARK
		if len(u.marks) >= maxPickleDepth {
			return false, u.errf("too many MARKs")
		}
		u.marks = append(u.marks, len(u.stack))
	case '0': // POP
		if len(u.marks) > 0 && u.marks[len(u.marks)-1] == len(u.stack) {
			u.marks = u.marks[:len(u.marks)-1]
			return false, nil
		}
		_, err := u.pop()
		return false, err
	case '1': // POP_MARK
		_, err := u.popMark()
		return false, err
	case '2': // DUP
		v, err := u.top()
		if err != nil {
			return false, err
		}
		return false, u.push(v)
	case 'N':
		return false, u.push(nil)
	case 0x88: // NEWTRUE
		return false, u.push(true)
	case 0x89: // NEWFALSE
		return false, u.push(false)
	case 'K': // BININT1
		b, err := u.read(1)
		if err != nil {
			return false, err
		}
		return false, u.push(int64(b[0]))
	case 'M': // BININT2
		b, err := u.read(2)
		if err != nil {
			return false, err
		}
		return false, u.push(int64(binary.LittleEndian.Uint16(b)))
	case 'J': // BININT
		b, err := u.read(4)
		if err != nil {
			return false, err
		}
		return false, u.push(int64(int32(binary.LittleEndian.Uint32(b))))
	case 0x8a: // LONG1
		b, err := u.lenPrefixed(1)
		if err != nil {
			return false, err
		}
		if len(b) > 8 {
			return false, u.errf("LONG1 of %d bytes does not fit int64", len(b))
		}
		var v int64
		for i := len(b) - 1; i >= 0; i-- {
			v = v<<8 | int64(b[i])
		}
		if len(b) > 0 && len(b) < 8 && b[len(b)-1]&0x80 != 0 {
			v -= int64(1) << (8 * len(b))
		}
		return false, u.push(v)
	case 'G': // BINFLOAT (big-endian)
		b, err := u.read(8)
		if err != nil {
			return false, err
		}
		return false, u.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case 'X', 0x8c, 0x8d: // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
		w := map[byte]int{'X': 4, 0x8c: 1, 0x8d: 8}[op]
		b, err := u.lenPrefixed(w)
		if err != nil {
			return false, err
		}
		return false, u.push(string(b))
	case 'T', 'U', 'B', 'C': // BINSTRING, SHORT_BINSTRING, BINBYTES, SHORT_BINBYTES
		w := 4
		if op == 'U' || op == 'C' {
			w = 1
		}
		b, err := u.lenPrefixed(w)
		if err != nil {
			return false, err
		}
		return false, u.push(string(b))
	case ')': // EMPTY_TUPLE
		return false, u.push(pyTuple{})
	case 0x85, 0x86, 0x87: // TUPLE1..3
		n := int(op - 0x84)
		if len(u.stack) < n {
			return false, u.errf("stack underflow")
		}
		t := make(pyTuple, n)
		for i := n - 1; i >= 0; i-- {
			v, err := u.pop()
			if err != nil {
				return false, err
			}
			t[i] = v
		}
		return false, u.push(t)
	case 't': // TUPLE
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		return false, u.push(pyTuple(items))
	case ']': // EMPTY_LIST
		return false, u.push(&pyList{})
	case 'l': // LIST
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		return false, u.push(&pyList{items: items})
	case 'a': // APPEND
		v, err := u.pop()
		if err != nil {
			return false, err
		}
		return false, u.appendTo([]any{v})
	case 'e': // APPENDS
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		return false, u.appendTo(items)
	case '}': // EMPTY_DICT
		return false, u.push(&pyDict{})
	case 'd': // DICT
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		d := &pyDict{}
		return false, errJoin(d.setItems(items), u.push(d))
	case 's': // SETITEM
		v, err := u.pop()
		if err != nil {
			return false, err
		}
		k, err := u.pop()
		if err != nil {
			return false, err
		}
		return false, u.setItems([]any{k, v})
	case 'u': // SETITEMS
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		return false, u.setItems(items)
	case 'q': // BINPUT
		b, err := u.read(1)
		if err != nil {
			return false, err
		}
		return false, u.memoPut(uint32(b[0]))
	case 'r': // LONG_BINPUT
		b, err := u.read(4)
		if err != nil {
			return false, err
		}
		return false, u.memoPut(binary.LittleEndian.Uint32(b))
	case 0x94: // MEMOIZE
		return false, u.memoPut(uint32(len(u.memo)))
	case 'h': // BINGET
		b, err := u.read(1)
		if err != nil {
			return false, err
		}
		return false, u.memoGet(uint32(b[0]))
	case 'j': // LONG_BINGET
		b, err := u.read(4)
		if err != nil {
			return false, err
		}
		return false, u.memoGet(binary.LittleEndian.Uint32(b))
	case 'c': // GLOBAL
		module, err := u.readLine()
		if err != nil {
			return false, err
		}
		name, err := u.readLine()
		if err != nil {
			return false, err
		}
		g, err := checkGlobal(module, name)
		if err != nil {
			return false, u.errf("%v", err)
		}
		return false, u.push(g)
	case 0x93: // STACK_GLOBAL
		nv, err := u.pop()
		if err != nil {
			return false, err
		}
		mv, err := u.pop()
		if err != nil {
			return false, err
		}
		module, ok1 := mv.(string)
		name, ok2 := nv.(string)
		if !ok1 || !ok2 {
			return false, u.errf("STACK_GLOBAL needs two strings")
		}
		g, err := checkGlobal(module, name)
		if err != nil {
			return false, u.errf("%v", err)
		}
		return false, u.push(g)
	case 'Q': // BINPERSID
		pid, err := u.pop()
		if err != nil {
			return false, err
		}
		if persistentLoad == nil {
			return false, u.errf("persistent id without a loader")
		}
		v, err := persistentLoad(pid)
		if err != nil {
			return false, u.errf("%v", err)
		}
		return false, u.push(v)
	case 'R': // REDUCE
		args, err := u.pop()
		if err != nil {
			return false, err
		}
		fn, err := u.pop()
		if err != nil {
			return false, err
		}
		v, err := reduce(fn, args)
		if err != nil {
			return false, u.errf("%v", err)
		}
		return false, u.push(v)
	case 'b': // BUILD
		state, err := u.pop()
		if err != nil {
			return false, err
		}
		obj, err := u.top()
		if err != nil {
			return false, err
		}
		switch obj.(type) {
		case *pyDict, *tensorRef:
			// OrderedDict state (_metadata) and tensor state carry no data we need.
			_ = state
		default:
			return false, u.errf("BUILD on %T is not allowed", obj)
		}
	default:
		return false, u.errf("unsupported or disallowed opcode 0x%02x (%q)", op, rune(op))
	}
	return false, nil
}

func errJoin(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func (u *unpickler) appendTo(items []any) error {
	v, err := u.top()
	if err != nil {
		return err
	}
	l, ok := v.(*pyList)
	if !ok {
		return u.errf("APPEND to %T", v)
	}
	l.items = append(l.items, items...)
	return nil
}

func (u *unpickler) setItems(items []any) error {
	v, err := u.top()
	if err != nil {
		return err
	}
	d, ok := v.(*pyDict)
	if !ok {
		return u.errf("SETITEM on %T", v)
	}
	if err := d.setItems(items); err != nil {
		return u.errf("%v", err)
	}
	return nil
}

func (d *pyDict) setItems(items []any) error {
	if len(items)%2 != 0 {
		return fmt.Errorf("odd number of dict items (%d)", len(items))
	}
	for i := 0; i < len(items); i += 2 {
		switch items[i].(type) {
		case string, int64, bool, nil, float64:
		default:
			return fmt.Errorf("unhashable dict key %T", items[i])
		}
		d.keys = append(d.keys, items[i])
		d.vals = append(d.vals, items[i+1])
	}
	return nil
}

// reduce interprets a call of an allowlisted global; nothing is executed.
func reduce(fn, args any) (any, error) {
	g, ok := fn.(pyGlobal)
	if !ok {
		return nil, fmt.Errorf("REDUCE on non-global %T", fn)
	}
	a, ok := args.(pyTuple)
	if !ok {
		return nil, fmt.Errorf("REDUCE %s: arguments are %T, not a tuple", g, args)
	}
	switch g.String() {
	case "collections.OrderedDict":
		if len(a) != 0 {
			return nil, fmt.Errorf("OrderedDict with %d arguments", len(a))
		}
		return &pyDict{}, nil
	case "torch.Size":
		if len(a) != 1 {
			return nil, fmt.Errorf("torch.Size with %d arguments", len(a))
		}
		return a[0], nil
	case "torch._utils._rebuild_tensor_v2":
		return rebuildTensor(a)
	case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
		if len(a) < 1 {
			return nil, fmt.Errorf("%s without data", g)
		}
		t, ok := a[0].(*tensorRef)
		if !ok {
			return nil, fmt.Errorf("%s: data is %T, not a tensor", g, a[0])
		}
		return t, nil
	}
	return nil, fmt.Errorf("global %s is not callable in a data-only pickle", g)
}

// rebuildTensor interprets _rebuild_tensor_v2(storage, storage_offset, size,
// stride, requires_grad, backward_hooks[, metadata]).
func rebuildTensor(a pyTuple) (*tensorRef, error) {
	if len(a) < 4 {
		return nil, fmt.Errorf("_rebuild_tensor_v2 with %d arguments", len(a))
	}
	st, ok := a[0].(*storageRef)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor_v2: storage is %T", a[0])
	}
	off, ok := a[1].(int64)
	if !ok || off < 0 {
		return nil, fmt.Errorf("_rebuild_tensor_v2: bad storage offset %v", a[1])
	}
	size, err := intTuple(a[2])
	if err != nil {
		return nil, fmt.Errorf("_rebuild_tensor_v2 size: %w", err)
	}
	stride, err := intTuple(a[3])
	if err != nil {
		return nil, fmt.Errorf("_rebuild_tensor_v2 stride: %w", err)
	}
	if len(size) != len(stride) {
		return nil, fmt.Errorf("_rebuild_tensor_v2: size %v and stride %v differ in rank", size, stride)
	}
	return &tensorRef{storage: st, offset: off, size: size, stride: stride}, nil
}

func intTuple(v any) ([]int64, error) {
	t, ok := v.(pyTuple)
	if !ok {
		return nil, fmt.Errorf("%T is not a tuple", v)
	}
	out := make([]int64, len(t))
	for i, x := range t {
		n, ok := x.(int64)
		if !ok || n < 0 {
			return nil, fmt.Errorf("element %d (%v) is not a non-negative int", i, x)
		}
		out[i] = n
	}
	return out, nil
}

// torchPersistentLoad resolves torch's ('storage', StorageType, key, location, numel) ids.
func torchPersistentLoad(storages map[string]*storageRef) func(pid any) (any, error) {
	return func(pid any) (any, error) {
		t, ok := pid.(pyTuple)
		if !ok || len(t) < 5 {
			return nil, fmt.Errorf("persistent id %v is not a storage tuple", pid)
		}
		if s, _ := t[0].(string); s != "storage" {
			return nil, fmt.Errorf("persistent id kind %v is not 'storage'", t[0])
		}
		g, ok := t[1].(pyGlobal)
		if !ok || g.module != "torch" {
			return nil, fmt.Errorf("persistent id storage type %v", t[1])
		}
		dt, ok := storageDTypes[g.name]
		if !ok {
			return nil, fmt.Errorf("unsupported storage type %s", g)
		}
		key, ok := t[2].(string)
		if !ok || key == "" || strings.ContainsAny(key, "/\\") || key == "." || key == ".." {
			return nil, fmt.Errorf("invalid storage key %v", t[2])
		}
		numel, ok := t[4].(int64)
		if !ok || numel < 0 {
			return nil, fmt.Errorf("invalid storage size %v", t[4])
		}
		if s, seen := storages[key]; seen {
			if s.dtype != dt || s.numel != numel {
				return nil, fmt.Errorf("storage %s referenced as %s[%d] and %s[%d]", key, s.dtype, s.numel, dt, numel)
			}
			return s, nil
		}
		s := &storageRef{dtype: dt, key: key, numel: numel}
		storages[key] = s
		return s, nil
	}
}
