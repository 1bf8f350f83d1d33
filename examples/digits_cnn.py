# The PyTorch twin of examples/digits-cnn.ts: the same model (examples/digits-cnn-model.ts), the same
# data file, split, loader order, optimizer and schedule, in PyTorch 1.13 (Debian's python3-torch).
#   /usr/bin/python3 examples/digits_cnn.py [--epochs N]     trains and prints accuracy per epoch
#   /usr/bin/python3 examples/digits_cnn.py --golden test/fixtures/examples/digits-cnn.json
# The golden: torch.manual_seed(0)'s initial state dict, then GOLDEN_STEPS training steps on the first
# batches of the training loader's first epoch, dropout off (model.dropout.eval(); batch norm keeps
# training mode) and StepLR stepped after every batch so that the learning rate changes within them:
# the dataset rows of each batch, the lr and loss of each step, and the final state dict.
import argparse
import json
import os
import time

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
DIGITS_FILE = os.path.join(HERE, 'data', 'digits.u8')
IMAGE_SIZE, CLASSES, BATCH_SIZE = 8, 10, 32
SPLIT_SEED, TRAIN_SIZE, LOADER_SEED = 0, 1437, 1
LR, STEP_EPOCHS, GAMMA, DROPOUT = 0.01, 4, 0.5, 0.25
GOLDEN_STEPS, GOLDEN_STEP_SIZE = 20, 5


class DigitsCNN(nn.Module):
    def __init__(self, dropout=DROPOUT):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(16 * 2 * 2, CLASSES)

    def forward(self, x):
        x = self.pool(self.relu(self.bn1(self.conv1(x))))
        x = self.pool(self.relu(self.bn2(self.conv2(x))))
        return self.fc(self.dropout(self.flatten(x)))


def load_digits():
    raw = np.fromfile(DIGITS_FILE, dtype=np.uint8).reshape(-1, 1 + IMAGE_SIZE * IMAGE_SIZE)
    images = torch.from_numpy(raw[:, 1:].astype(np.float32) / 16).reshape(-1, 1, IMAGE_SIZE, IMAGE_SIZE)
    return images, torch.from_numpy(raw[:, 0].astype(np.int64))


def split(n):
    order = torch.randperm(n, generator=torch.Generator().manual_seed(SPLIT_SEED))
    return order[:TRAIN_SIZE], order[TRAIN_SIZE:]


def train_loader(images, labels, train):
    # the rows' dataset indices ride along, so the golden can name each batch's rows
    ds = torch.utils.data.TensorDataset(images[train], labels[train], train)
    gen = torch.Generator().manual_seed(LOADER_SEED)
    return torch.utils.data.DataLoader(ds, batch_size=BATCH_SIZE, shuffle=True, generator=gen)


def f32(v):
    # the shortest decimal that reads back as the same float32
    return float(np.format_float_positional(np.float32(v), unique=True))


def tensor_json(t):
    dtype = 'int64' if t.dtype == torch.int64 else 'float32'
    vals = t.detach().reshape(-1).tolist()
    return {'shape': list(t.shape), 'dtype': dtype, 'data': [int(v) if dtype == 'int64' else f32(v) for v in vals]}


def state_json(model):
    return {k: tensor_json(v) for k, v in model.state_dict().items()}


def golden(out):
    images, labels = load_digits()
    train, _ = split(len(labels))
    torch.manual_seed(0)
    model = DigitsCNN()
    init = state_json(model)
    model.train()
    model.dropout.eval()  # dropout off: kiln's masks come from its own generator
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    sched = torch.optim.lr_scheduler.StepLR(opt, GOLDEN_STEP_SIZE, gamma=GAMMA)
    criterion = nn.CrossEntropyLoss()
    rows, lrs, losses = [], [], []
    for k, (x, y, idx) in enumerate(train_loader(images, labels, train)):
        if k == GOLDEN_STEPS:
            break
        lrs.append(opt.param_groups[0]['lr'])
        loss = criterion(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        rows.append(idx.tolist())
        losses.append(loss.item())
    result = {
        'torch': torch.__version__,
        'steps': GOLDEN_STEPS,
        'step_size': GOLDEN_STEP_SIZE,
        'gamma': GAMMA,
        'lr': LR,
        'rows': rows,
        'lrs': lrs,
        'losses': losses,
        'init': init,
        'final': state_json(model),
    }
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, 'w') as f:
        json.dump(result, f, separators=(',', ':'))
    print(f'wrote {out}: losses {losses[0]:.4f} -> {losses[-1]:.4f}')


def train(epochs):
    images, labels = load_digits()
    train_rows, val_rows = split(len(labels))
    torch.manual_seed(0)
    model = DigitsCNN()
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    sched = torch.optim.lr_scheduler.StepLR(opt, STEP_EPOCHS, gamma=GAMMA)
    criterion = nn.CrossEntropyLoss()
    loader = train_loader(images, labels, train_rows)
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        total, correct = 0.0, 0
        for x, y, _ in loader:
            out = model(x)
            loss = criterion(out, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(y)
            correct += (out.argmax(1) == y).sum().item()
        lr = opt.param_groups[0]['lr']
        sched.step()
        model.eval()
        with torch.no_grad():
            val = (model(images[val_rows]).argmax(1) == labels[val_rows]).sum().item()
        print(f'Epoch {epoch}: loss {total / len(train_rows):.4f}, train accuracy '
              f'{100 * correct / len(train_rows):.1f}%, validation accuracy {100 * val / len(val_rows):.1f}% '
              f'({val}/{len(val_rows)}), lr {lr:g}')
    print(f'{epochs} epochs in {time.perf_counter() - start:.1f} s')


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--epochs', type=int, default=10)
    ap.add_argument('--golden', metavar='OUT')
    a = ap.parse_args()
    if a.golden:
        golden(a.golden)
    else:
        train(a.epochs)
