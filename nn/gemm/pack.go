package gemm

// packA copies rows [i0, i0+mc) and columns [p0, p0+kc) of op(A) into dst as ⌈mc/mr⌉ panels of
// mr rows: panel q holds op(A)[i0+q·mr+r][p0+p] at dst[q·mr·kc + p·mr + r], rows past mc are zero.
// dst has room for padA values past the last panel.
func (im *impl) packA(dst, a []float32, lda int, trans bool, i0, mc, p0, kc int) {
	for ir := 0; ir < mc; ir += mr {
		rows := min(mr, mc-ir)
		d := dst[ir*kc : (ir+mr)*kc+padA]
		i := i0 + ir
		switch {
		case !trans && rows == mr:
			im.packA6(kc, a[i*lda+p0:], lda, d)
		case trans && rows == mr:
			for p := range kc {
				*(*[mr]float32)(d[p*mr:]) = *(*[mr]float32)(a[(p0+p)*lda+i:])
			}
		default:
			clear(d[:mr*kc])
			for r := range rows {
				for p := range kc {
					if trans {
						d[p*mr+r] = a[(p0+p)*lda+i+r]
					} else {
						d[p*mr+r] = a[(i+r)*lda+p0+p]
					}
				}
			}
		}
	}
}

// padA is the number of values past its end that packA6 may overwrite in its destination.
const padA = 2

// packA6Go packs 6 rows of a row-major matrix (row r at a[r·lda:], kc values each) into d
// (d[p·6+r]).
func packA6Go(kc int, a []float32, lda int, d []float32) {
	r0 := a[:kc]
	r1 := a[lda:][:kc]
	r2 := a[2*lda:][:kc]
	r3 := a[3*lda:][:kc]
	r4 := a[4*lda:][:kc]
	r5 := a[5*lda:][:kc]
	d = d[:mr*kc]
	for p := range r0 {
		q := (*[mr]float32)(d[p*mr:])
		q[0], q[1], q[2], q[3], q[4], q[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
	}
}

// packB copies rows [p0, p0+kc) and columns [j0, j0+nc) of op(B) into dst as ⌈nc/nr⌉ panels of
// nr columns: panel q holds op(B)[p0+p][j0+q·nr+j] at dst[q·nr·kc + p·nr + j], columns past nc are
// zero.
func (im *impl) packB(dst, b []float32, ldb int, trans bool, p0, kc, j0, nc int) {
	for jr := 0; jr < nc; jr += nr {
		cols := min(nr, nc-jr)
		d := dst[jr*kc : (jr+nr)*kc]
		j := j0 + jr
		switch {
		case !trans && cols == nr:
			im.packB16N(kc, b[p0*ldb+j:], ldb, d)
		case trans && cols == nr:
			im.packB16T(kc, b[j*ldb+p0:], ldb, d)
		default:
			clear(d)
			for c := range cols {
				for p := range kc {
					if trans {
						d[p*nr+c] = b[(j+c)*ldb+p0+p]
					} else {
						d[p*nr+c] = b[(p0+p)*ldb+j+c]
					}
				}
			}
		}
	}
}

// packB16NGo packs 16 columns of a row-major matrix (row p at b[p·ldb:]) into d (d[p·16+j]).
func packB16NGo(kc int, b []float32, ldb int, d []float32) {
	for p := range kc {
		*(*[nr]float32)(d[p*nr:]) = *(*[nr]float32)(b[p*ldb:])
	}
}

// packB16TGo packs the transpose of 16 rows of a row-major matrix (row c at b[c·ldb:], kc values
// each) into d (d[p·16+c]).
func packB16TGo(kc int, b []float32, ldb int, d []float32) {
	d = d[:nr*kc]
	// Eight columns of d at a time: eight source rows are read sequentially and each destination
	// cache line is written by consecutive stores.
	for c0 := 0; c0 < nr; c0 += 8 {
		r0 := b[c0*ldb:][:kc]
		r1 := b[(c0+1)*ldb:][:kc]
		r2 := b[(c0+2)*ldb:][:kc]
		r3 := b[(c0+3)*ldb:][:kc]
		r4 := b[(c0+4)*ldb:][:kc]
		r5 := b[(c0+5)*ldb:][:kc]
		r6 := b[(c0+6)*ldb:][:kc]
		r7 := b[(c0+7)*ldb:][:kc]
		for p := range r0 {
			q := (*[8]float32)(d[p*nr+c0:])
			q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p], r6[p], r7[p]
		}
	}
}
