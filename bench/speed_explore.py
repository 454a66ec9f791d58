"""Scratch speed exploration for issue 5 (training speed vs the plain-Keras reference).

Not part of the tool. Each invocation runs one or more configurations in a fresh
process and prints one JSON line per run (prefixed with "RESULT ").

Examples:
  python bench/speed_explore.py baseline --model hidden128 --seed 1
  python bench/speed_explore.py run --model hidden128 --batch 256 --lr 4e-3 --sched cosine --epochs 10
  python bench/speed_explore.py matmul
  python bench/speed_explore.py callback --spe 1 32
"""

import argparse
import gzip
import json
import os
import resource
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "mnist"
if not DATA.exists():
    DATA = Path("/work/shared/mnist")

MODELS = {"softmax": [], "hidden128": [128], "hidden100x2": [100, 100]}


def read_idx(path, header):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    return np.frombuffer(raw, dtype=np.uint8, offset=header)


def load():
    xtr = read_idx(DATA / "train-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)
    ytr = read_idx(DATA / "train-labels-idx1-ubyte.gz", 8).astype(np.int64)
    xte = read_idx(DATA / "t10k-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)
    yte = read_idx(DATA / "t10k-labels-idx1-ubyte.gz", 8).astype(np.int64)
    f = lambda a: (a.astype(np.float32) / 255.0)
    return f(xtr), ytr, f(xte), yte


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def build(keras, name, precision="float32"):
    layers = [keras.Input((28, 28)), keras.layers.Flatten()]
    for u in MODELS[name]:
        layers.append(keras.layers.Dense(u, activation="relu"))
    # keep the output in float32 under mixed precision
    layers.append(keras.layers.Dense(10, activation="softmax", dtype="float32"))
    return keras.Sequential(layers)


class EpochTimer:
    pass


def make_timer_cb(keras):
    class T(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.times = []
            self.val = []

        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self.t0)
            if logs and "val_accuracy" in logs:
                self.val.append(float(logs["val_accuracy"]))

    return T()


def make_batch_cb(keras):
    class B(keras.callbacks.Callback):
        """Mimics a progress bar: reads logs every batch."""

        def on_train_begin(self, logs=None):
            self.n = 0
            self.last = None

        def on_train_batch_end(self, batch, logs=None):
            self.n += 1
            if logs:
                self.last = float(logs.get("loss", 0.0))

    return B()


def setup_tf(args):
    import tensorflow as tf

    if args.intra is not None:
        tf.config.threading.set_intra_op_parallelism_threads(args.intra)
    if args.inter is not None:
        tf.config.threading.set_inter_op_parallelism_threads(args.inter)
    import keras

    if args.determinism:
        keras.utils.set_random_seed(args.seed)
        tf.config.experimental.enable_op_determinism()
    else:
        keras.utils.set_random_seed(args.seed)
    if args.precision == "mixed":
        keras.mixed_precision.set_global_policy("mixed_float16")
    elif args.precision == "bf16":
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    return tf, keras


def baseline(args, data):
    tf, keras = setup_tf(args)
    xtr, ytr, xte, yte = data
    model = build(keras, args.model)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    timer = make_timer_cb(keras)
    t0 = time.perf_counter()
    c0 = time.process_time()
    model.fit(xtr, ytr, epochs=args.epochs, batch_size=32, verbose=0, callbacks=[timer])
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    _, acc = model.evaluate(xte, yte, batch_size=1024, verbose=0)
    return dict(kind="baseline", model=args.model, seed=args.seed, epochs=args.epochs,
                fit_s=round(wall, 2), cpu_s=round(cpu, 2), epoch_s=[round(t, 2) for t in timer.times],
                test_acc=round(float(acc), 4), rss_mb=round(rss_mb(), 1))


def recipe(args, data):
    tf, keras = setup_tf(args)
    xtr, ytr, xte, yte = data
    # 10% validation split (tail, like keras validation_split; optionally shuffled)
    n = len(xtr)
    if args.val > 0:
        rng = np.random.default_rng(args.seed)
        idx = rng.permutation(n) if args.shuffle_split else np.arange(n)
        nval = int(round(n * args.val))
        vi, ti = idx[n - nval:], idx[: n - nval]
        xv, yv, xt, yt = xtr[vi], ytr[vi], xtr[ti], ytr[ti]
    else:
        xt, yt, xv, yv = xtr, ytr, None, None
    steps = (len(xt) // args.batch) if (args.drop_remainder and args.pipeline == "dataset") else int(np.ceil(len(xt) / args.batch))
    total = steps * args.epochs
    if args.sched == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(
            0.0 if args.warmup else args.lr, decay_steps=total - args.warmup * steps,
            alpha=args.alpha, warmup_target=args.lr if args.warmup else None,
            warmup_steps=args.warmup * steps)
    elif args.sched == "onecycle":  # linear warmup + linear decay
        lr = keras.optimizers.schedules.PolynomialDecay(args.lr, total, end_learning_rate=args.lr * args.alpha)
    else:
        lr = args.lr
    model = build(keras, args.model)
    opt = keras.optimizers.Adam(lr)
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=args.jit, steps_per_execution=args.spe)
    timer = make_timer_cb(keras)
    cbs = [timer]
    if args.batch_cb:
        bcb = make_batch_cb(keras)
        cbs.append(bcb)
    if args.patience and xv is not None:
        cbs.append(keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=args.patience,
                                                 restore_best_weights=True, mode="max"))
    if args.plateau and xv is not None:
        cbs.append(keras.callbacks.ReduceLROnPlateau(monitor="val_accuracy", mode="max",
                                                     factor=0.3, patience=args.plateau))
    t0 = time.perf_counter()
    c0 = time.process_time()
    if args.pipeline == "dataset":
        ds = tf.data.Dataset.from_tensor_slices((xt, yt)).cache()
        ds = ds.shuffle(len(xt), seed=args.seed, reshuffle_each_iteration=True)
        ds = ds.batch(args.batch, drop_remainder=args.drop_remainder).prefetch(tf.data.AUTOTUNE)
        vb = args.val_batch or len(xv)
        vds = (tf.data.Dataset.from_tensor_slices((xv, yv)).batch(vb).cache().prefetch(tf.data.AUTOTUNE)
               if xv is not None else None)
        model.fit(ds, epochs=args.epochs, validation_data=vds, verbose=0, callbacks=cbs)
    else:
        model.fit(xt, yt, batch_size=args.batch, epochs=args.epochs,
                  validation_data=(xv, yv) if xv is not None else None,
                  validation_batch_size=(args.val_batch or len(xv)) if xv is not None else None,
                  verbose=0, callbacks=cbs)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    _, acc = model.evaluate(xte, yte, batch_size=1024, verbose=0)
    res = dict(cpu_s=round(cpu, 2), kind="recipe", model=args.model, seed=args.seed, batch=args.batch, lr=args.lr,
               sched=args.sched, warmup=args.warmup, epochs=args.epochs, ran=len(timer.times),
               patience=args.patience, jit=args.jit, spe=args.spe, pipeline=args.pipeline,
               det=args.determinism, prec=args.precision, intra=args.intra, inter=args.inter,
               batch_cb=args.batch_cb, drop=args.drop_remainder, vb=args.val_batch, fit_s=round(wall, 2),
               epoch_s=[round(t, 2) for t in timer.times],
               val=[round(v, 4) for v in timer.val], test_acc=round(float(acc), 4),
               rss_mb=round(rss_mb(), 1))
    if args.save_weights_hash:
        import hashlib
        h = hashlib.sha256(b"".join(w.tobytes() for w in model.get_weights())).hexdigest()[:16]
        res["weights_sha"] = h
    return res


def matmul(args):
    import tensorflow as tf

    out = []
    for n in (1024, 2048, 4096):
        a = tf.random.normal((n, n))
        b = tf.random.normal((n, n))
        f = tf.function(lambda a, b: tf.matmul(a, b))
        f(a, b).numpy()
        reps = max(3, int(2e10 / (2 * n ** 3)))
        best = 1e9
        for _ in range(3):
            t0 = time.perf_counter()
            for _ in range(reps):
                c = f(a, b)
            c.numpy()
            best = min(best, (time.perf_counter() - t0) / reps)
        out.append(dict(kind="matmul", n=n, s=round(best, 5), gflops=round(2 * n ** 3 / best / 1e9, 1)))
    # MLP-shaped matmul: (256 x 784) @ (784 x 100)
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=["baseline", "run", "matmul"])
    p.add_argument("--model", default="hidden128")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--sched", default="const", choices=["const", "cosine", "onecycle"])
    p.add_argument("--warmup", type=int, default=0, help="warmup epochs")
    p.add_argument("--alpha", type=float, default=0.0)
    p.add_argument("--val", type=float, default=0.1)
    p.add_argument("--shuffle-split", action="store_true")
    p.add_argument("--patience", type=int, default=0)
    p.add_argument("--plateau", type=int, default=0)
    p.add_argument("--jit", default="auto", choices=["auto", "true", "false"])
    p.add_argument("--spe", type=int, default=1)
    p.add_argument("--pipeline", default="numpy", choices=["numpy", "dataset"])
    p.add_argument("--determinism", action="store_true")
    p.add_argument("--precision", default="float32", choices=["float32", "mixed", "bf16"])
    p.add_argument("--intra", type=int, default=None)
    p.add_argument("--inter", type=int, default=None)
    p.add_argument("--batch-cb", action="store_true")
    p.add_argument("--drop-remainder", action="store_true")
    p.add_argument("--val-batch", type=int, default=1024, help="0 = whole validation set in one batch")
    p.add_argument("--save-weights-hash", action="store_true")
    p.add_argument("--grid", default="", help="e.g. 'batch=128,256;lr=2e-3,4e-3' (product, in-process)")
    p.add_argument("--repeat", type=int, default=1)
    args = p.parse_args()
    args.jit = {"auto": "auto", "true": True, "false": False}[args.jit]
    if args.what == "matmul":
        for r in matmul(args):
            print("RESULT " + json.dumps(r), flush=True)
        return
    data = load()
    import itertools
    axes = [(kv.split("=")[0], kv.split("=")[1].split(",")) for kv in args.grid.split(";") if kv]
    for combo in itertools.product(*[v for _, v in axes]):
        for _ in range(args.repeat):
            a = argparse.Namespace(**vars(args))
            for (k, _), v in zip(axes, combo):
                cur = getattr(a, k)
                if k == "jit":
                    v = {"auto": "auto", "true": True, "false": False}[v]
                elif isinstance(cur, bool):
                    v = v in ("1", "true", "True")
                elif isinstance(cur, int) or k in ("intra", "inter"):
                    v = int(v)
                elif isinstance(cur, float):
                    v = float(v)
                setattr(a, k, v)
            r = baseline(a, data) if a.what == "baseline" else recipe(a, data)
            print("RESULT " + json.dumps(r), flush=True)
            import keras
            keras.backend.clear_session()


if __name__ == "__main__":
    main()
