# Converts scikit-learn's copy of the UCI handwritten digits (load_digits: 1,797 8x8 images, pixel
# values 0..16, labels 0..9) into digits.u8, the compact file examples/digits-cnn.ts and
# examples/digits_cnn.py read. Run once, from anywhere, with Debian's python3-sklearn installed:
#   /usr/bin/python3 examples/data/make_digits.py
# Layout of digits.u8: 1,797 records of 65 bytes each, in load_digits' order: the label (0..9),
# then the 64 pixels row by row (0..16). No header; the record count is the file size / 65.
import os
import sys

import numpy as np
import sklearn
from sklearn.datasets import load_digits

RECORD = 65
digits = load_digits()
images = digits.images.astype(np.float64)
assert images.shape == (1797, 8, 8), images.shape
pixels = images.reshape(len(images), 64)
# load_digits stores the 0..16 counts as floats; they must be whole numbers to fit a byte exactly
assert np.array_equal(pixels, np.round(pixels)) and pixels.min() >= 0 and pixels.max() <= 16
labels = digits.target
assert labels.min() == 0 and labels.max() == 9
records = np.concatenate([labels.reshape(-1, 1), pixels], axis=1).astype(np.uint8)
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'digits.u8')
with open(out, 'wb') as f:
    f.write(records.tobytes())
print(f'wrote {out}: {len(records)} records of {RECORD} bytes; scikit-learn {sklearn.__version__} '
      f'from {os.path.dirname(sklearn.__file__)}', file=sys.stderr)
