package nn

// Flatten reshapes each record to a vector: N × d1 × … × dk → N × (d1·…·dk), sharing the data.
type Flatten struct {
	in    []int
	y, dx Tensor
}

// Spec implements Layer.
func (*Flatten) Spec() LayerSpec { return LayerSpec{Kind: KindFlatten} }

// OutShape implements Layer.
func (*Flatten) OutShape(in []int) ([]int, error) { return []int{numel(in)}, nil }

// Params implements Layer; flatten has none.
func (*Flatten) Params() []Param { return nil }

// Forward implements Layer. The result shares x's data.
func (f *Flatten) Forward(x *Tensor, train bool) *Tensor {
	f.in = append(f.in[:0], x.Shape...)
	f.y.Shape = append(f.y.Shape[:0], x.Rows(), x.RowLen())
	f.y.Data = x.Data
	return &f.y
}

// Backward implements Layer. The result shares dy's data.
func (f *Flatten) Backward(dy *Tensor, needDX bool) *Tensor {
	if !needDX {
		return nil
	}
	f.dx.Shape = append(f.dx.Shape[:0], f.in...)
	f.dx.Data = dy.Data
	return &f.dx
}
