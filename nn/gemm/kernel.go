package gemm

// kernel computes one mr × nr tile of C from a packed panel of op(A) (kc × mr values, a[p·mr+i])
// and a panel of op(B) (kc rows of nr values, b[p·sb+j]; sb = nr when packed):
//
//	t = alpha·Σ_p a[p·mr+i]·b[p·sb+j],  C[i][j] = t if beta = 0, else beta·C[i][j] + t,
//
// accumulating over p in increasing order, with C[i][j] at c[i·ldc+j]. With beta = 0, C is not
// read.
type kernel func(kc int, a, b []float32, sb int, c []float32, ldc int, alpha, beta float32)

// impl is a micro-kernel with the packing routines that go with it.
type impl struct {
	name string
	kern kernel
	// kern32, if not nil, computes the mr × 2nr tile of two adjacent panels of B (b0, b1, same row
	// stride) exactly as two calls of kern would.
	kern32 func(kc int, a, b0, b1 []float32, sb int, c []float32, ldc int, alpha, beta float32)
	// packA6 packs 6 rows of a row-major matrix (row r at a[r·lda:], kc values each) into
	// d[p·6+r], and may write padA values past the end of the panel.
	packA6 func(kc int, a []float32, lda int, d []float32)
	// packB16N packs 16 columns of a row-major matrix (row p at b[p·ldb:]) into d[p·16+j].
	packB16N func(kc int, b []float32, ldb int, d []float32)
	// packB16T packs the transpose of 16 rows of a row-major matrix (row c at b[c·ldb:], kc values
	// each) into d[p·16+c].
	packB16T func(kc int, b []float32, ldb int, d []float32)
	// alwaysPackB and narrowEdges restore earlier choices for BenchmarkSgemmVariants, which compares
	// them in one process (Sgemm never sets them): B packed whatever m and its stride, and the edge
	// rows of a 32-column block computed with kern on each panel.
	alwaysPackB, narrowEdges bool
}

// implGo is the portable implementation.
var implGo = &impl{name: "go", kern: kernelGo, packA6: packA6Go, packB16N: packB16NGo, packB16T: packB16TGo}

// kernelGo is the portable micro-kernel.
func kernelGo(kc int, a, b []float32, sb int, c []float32, ldc int, alpha, beta float32) {
	a = a[:kc*mr]
	b = b[:(kc-1)*sb+nr]
	_ = c[(mr-1)*ldc+nr-1]
	// Two passes of 3 rows × 16 columns keep 48 accumulators live, a tile the compiler spills
	// partly but still reuses each loaded value of B three times.
	for i0 := 0; i0 < mr; i0 += 3 {
		var acc [3][nr]float32
		for p := range kc {
			bp := (*[nr]float32)(b[p*sb:])
			ap := a[p*mr+i0 : p*mr+i0+3 : p*mr+i0+3]
			a0, a1, a2 := ap[0], ap[1], ap[2]
			for j, bv := range bp {
				acc[0][j] += a0 * bv
				acc[1][j] += a1 * bv
				acc[2][j] += a2 * bv
			}
		}
		for r := range 3 {
			row := (*[nr]float32)(c[(i0+r)*ldc : (i0+r)*ldc+nr])
			if beta == 0 {
				for j := range row {
					row[j] = alpha * acc[r][j]
				}
			} else {
				for j := range row {
					row[j] = beta*row[j] + alpha*acc[r][j]
				}
			}
		}
	}
}
