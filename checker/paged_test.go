package checker

import "testing"

func TestPaged(t *testing.T) {
	var p paged[int32]
	for i := range 3*pageSize + 5 {
		p.push(int32(i))
		if p.len() != i+1 || *p.at(i) != int32(i) || *p.at(0) != 0 || *p.at(i / 2) != int32(i/2) {
			t.Fatalf("after %d pushes: len %d, at(%d) = %d", i+1, p.len(), i, *p.at(i))
		}
	}
	if len(p.pages) != 4 || cap(p.pages[0]) != pageSize {
		t.Errorf("%d pages, the first of %d", len(p.pages), cap(p.pages[0]))
	}
	var q paged[int64]
	q.extend(3)
	if q.len() != 3 || cap(q.pages[0]) != 16 {
		t.Errorf("a small table: len %d, cap %d", q.len(), cap(q.pages[0]))
	}
	q.extend(2*pageSize + 1)
	*q.at(2 * pageSize) = 7
	n := 0
	q.each(func(i int, v *int64) bool {
		if *v != 0 && i != 2*pageSize {
			t.Errorf("item %d = %d, want 0", i, *v)
		}
		n++
		return true
	})
	if n != 2*pageSize+1 {
		t.Errorf("each went over %d items", n)
	}
}

func TestPagedBytes(t *testing.T) {
	var p paged[byte]
	var want []byte
	for i := range 5000 {
		b := make([]byte, i%37)
		for j := range b {
			b[j] = byte(i + j)
		}
		if i%1000 == 999 {
			b = make([]byte, 3*pageSize+11) // a value longer than a page
			b[0], b[len(b)-1] = 1, 2
		}
		start := p.len()
		p.pushAll(b)
		want = append(want, b...)
		if got := p.slice(start, p.len()); string(got) != string(b) {
			t.Fatalf("value %d: got %d bytes, want %d", i, len(got), len(b))
		}
	}
	if got := p.slice(0, p.len()); string(got) != string(want) {
		t.Fatal("the whole arena differs")
	}
}
