package dataset

import "testing"

// cifarRecord returns one binary record: the label bytes, then 3,072 pixels where the pixel of
// channel c, row h, column w is (seed + 7c + 3h + w) mod 256.
func cifarRecord(labels []byte, seed int) []byte {
	rec := append([]byte(nil), labels...)
	for c := range 3 {
		for h := range 32 {
			for w := range 32 {
				rec = append(rec, byte(seed+7*c+3*h+w))
			}
		}
	}
	return rec
}

func TestLoadCIFAR10(t *testing.T) {
	dir := t.TempDir()
	var b1, b2 []byte
	b1 = append(append(b1, cifarRecord([]byte{3}, 0)...), cifarRecord([]byte{9}, 10)...)
	b2 = append(b2, cifarRecord([]byte{0}, 20)...)
	p1 := write(t, dir, "data_batch_1.bin", b1)
	p2 := write(t, dir, "data_batch_2.bin.gz", b2)
	d, err := LoadCIFAR10(p1, p2)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	sameInts(t, "labels", d.Y, []int{3, 9, 0})
	sameInts(t, "shape", d.Shape, []int{3, 32, 32})
	if d.Classes != 10 || d.ClassNames[3] != "cat" {
		t.Errorf("classes %d names %v", d.Classes, d.ClassNames)
	}
	// Record i, channel c, row h, column w is at X[i*3072 + c*1024 + h*32 + w] (C × H × W).
	for _, k := range [][4]int{{0, 0, 0, 0}, {0, 2, 31, 31}, {1, 1, 5, 7}, {2, 2, 0, 17}} {
		i, c, h, w := k[0], k[1], k[2], k[3]
		want := float32(byte(10*i+7*c+3*h+w)) / 255
		if got := d.X[i*3072+c*1024+h*32+w]; got != want {
			t.Errorf("record %d pixel (%d,%d,%d) = %v, want %v", i, c, h, w, got, want)
		}
	}
}

func TestLoadCIFAR100(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "train.bin", append(cifarRecord([]byte{19, 99}, 1), cifarRecord([]byte{4, 30}, 2)...))
	fine, err := LoadCIFAR100(true, p)
	if err != nil {
		t.Fatal(err)
	}
	coarse, err := LoadCIFAR100(false, p)
	if err != nil {
		t.Fatal(err)
	}
	sameInts(t, "fine", fine.Y, []int{99, 30})
	sameInts(t, "coarse", coarse.Y, []int{19, 4})
	if fine.Classes != 100 || coarse.Classes != 20 {
		t.Errorf("classes %d %d", fine.Classes, coarse.Classes)
	}
	if fine.X[0] != float32(1)/255 || fine.X[3072] != float32(2)/255 {
		t.Errorf("pixels start %v %v", fine.X[0], fine.X[3072])
	}
}

func TestLoadCIFARErrors(t *testing.T) {
	dir := t.TempDir()
	good := cifarRecord([]byte{1}, 0)
	tests := []struct {
		name string
		file string
		data []byte
		c100 bool
		want []string
	}{
		{"truncated", "t.bin", append(append([]byte(nil), good...), good[:100]...), false, []string{"size 3173 bytes is not a whole number of 3073-byte records"}},
		{"truncated gz", "t.bin.gz", append(append([]byte(nil), good...), good[:100]...), false, []string{"record 1 is truncated (100 of 3073 bytes)"}},
		{"label out of range", "l.bin", append(append([]byte(nil), good...), cifarRecord([]byte{10}, 0)...), false, []string{"record 1: label 10 outside [0, 10)"}},
		{"fine label out of range", "f.bin", cifarRecord([]byte{3, 100}, 0), true, []string{"record 0: label 100 outside [0, 100)"}},
		{"empty", "e.bin", nil, false, []string{"e.bin: no records (the file is empty)"}},
		{"empty gz", "e.bin.gz", nil, true, []string{"e.bin.gz: no records (the file is empty)"}},
		{"CIFAR-10 file read as CIFAR-100", "x.bin", good, true, []string{"not a whole number of 3074-byte records"}},
	}
	for _, tt := range tests {
		p := write(t, dir, tt.file, tt.data)
		var err error
		if tt.c100 {
			_, err = LoadCIFAR100(true, p)
		} else {
			_, err = LoadCIFAR10(p)
		}
		wantErr(t, tt.name, err, append(tt.want, tt.file)...)
	}
	if _, err := LoadCIFAR10(); err == nil {
		t.Error("no files accepted")
	}
}
