# Generates the NumPy fixtures of npy_test.go. Run from the repository root with
#   /usr/bin/python3 npy/testdata/gen.py        (NumPy 1.24.2)
# Every array holds v(k) for its C-order flat index k, with v given per dtype below, so that the test
# recomputes the expected values instead of storing them.
import os
import numpy as np

out = os.path.dirname(os.path.abspath(__file__))

def values(dtype, shape):
    n = int(np.prod(shape))
    k = np.arange(n)
    if dtype.kind == 'f':
        v = k * 0.5 - 3.25              # exact in float32 too
    elif dtype.kind == 'b':
        v = (k % 3) == 1
    elif dtype.kind == 'u':
        v = (k * 37) % 256
    else:
        v = (k * 37) % 256 - 128        # fits int8; wider types get the same values
    return v.astype(dtype).reshape(shape)

cases = {
    # name: (dtype, shape, fortran)
    'f8_c_2x3': ('<f8', (2, 3), False),
    'f4_c_3': ('<f4', (3,), False),
    'f8_f_2x3': ('<f8', (2, 3), True),
    'f4_f_2x3x4': ('<f4', (2, 3, 4), True),
    'i1_f_3x2': ('|i1', (3, 2), True),
    'b1_f_2x2x3': ('|b1', (2, 2, 3), True),
    'f8_be_2x3': ('>f8', (2, 3), False),
    'f4_be_f_3x2': ('>f4', (3, 2), True),
    'i2_be_5': ('>i2', (5,), False),
    'i4_be_2x2': ('>i4', (2, 2), False),
    'i8_be_4': ('>i8', (4,), False),
    'u1_6': ('|u1', (6,), False),
    'i1_6': ('|i1', (6,), False),
    'i2_6': ('<i2', (6,), False),
    'i4_6': ('<i4', (6,), False),
    'i8_2x3': ('<i8', (2, 3), False),
    'b1_7': ('|b1', (7,), False),
    'f8_0d': ('<f8', (), False),
    'f8_empty_0x3': ('<f8', (0, 3), False),
}
for name, (dt, shape, fortran) in cases.items():
    a = values(np.dtype(dt), shape)
    if fortran:
        a = np.asfortranarray(a)
        assert a.flags.f_contiguous and (len(shape) < 2 or not a.flags.c_contiguous)
    np.save(os.path.join(out, name + '.npy'), a)

# Format version 2.0 header (4-byte header length).
with open(os.path.join(out, 'v2_f8_2x3.npy'), 'wb') as f:
    np.lib.format.write_array(f, values(np.dtype('<f8'), (2, 3)), version=(2, 0))

# Special float64 values.
np.save(os.path.join(out, 'f8_special.npy'),
        np.array([np.nan, np.inf, -np.inf, -0.0, 5e-324, 1.7976931348623157e308]))

# Archives: np.savez (stored) and np.savez_compressed (deflate).
arrs = dict(signals=values(np.dtype('<f4'), (3, 2)), memberships=values(np.dtype('|b1'), (3, 2)),
            labels=values(np.dtype('<i8'), (3,)))
np.savez(os.path.join(out, 'stored.npz'), **arrs)
np.savez_compressed(os.path.join(out, 'compressed.npz'), **arrs)
