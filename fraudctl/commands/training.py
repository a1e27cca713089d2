"""`fraudctl data synth`, `train`, `evaluate` (TensorFlow loads lazily, in the handlers)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from core.errors import UsageError
from core.values import fraction, share, sizes, whole


def cmd_synth(args: argparse.Namespace) -> int:
    from training.synth import synthesize, write_kaggle_csv, write_raw_csv

    frame = synthesize(args.rows, args.fraud_rate, args.seed, overlap=args.overlap,
                       patterns=args.patterns)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    (write_raw_csv if args.format == "raw" else write_kaggle_csv)(frame, out)
    print(f"wrote {out}: {len(frame)} rows, {int(frame['Class'].sum())} frauds "
          f"({args.format} format, seed {args.seed})")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise UsageError(f"--out {args.out}: is a file; name a directory for model.onnx, its "
                         "card and its report")
    if not Path(args.data).is_file():
        raise UsageError(f"--data {args.data}: no such file")
    if args.labels and not Path(args.labels).is_file():
        raise UsageError(f"--labels {args.labels}: no such file")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2" if args.verbose else "3")
    if not args.verbose:
        from training.quiet import import_tensorflow_quietly

        import_tensorflow_quietly()
    from training.train import TrainConfig, train

    config = TrainConfig(split=args.split, seed=args.seed, epochs=args.epochs,
                         batch_size=args.batch_size, fpr_target=args.fpr,
                         alert_rate=args.alert_rate, select=not (args.fast or args.hidden),
                         kind=args.kind, labels=args.labels)
    if args.hidden:
        config.hidden = args.hidden
    train(args.data, args.out, config, log=lambda line: print(line, flush=True))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from training.evaluate import evaluate_model

    out = Path(args.out or Path(args.model).with_name("evaluation"))
    result = evaluate_model(args.model, args.data, out, fpr_target=args.fpr)
    at = result["at_threshold"]
    print(f"ROC AUC {result['roc_auc']:.4f}  average precision {result['average_precision']:.4f}")
    print(f"at the stored threshold {at['threshold']:.5f}: precision {at['precision']:.3f} "
          f"recall {at['recall']:.3f} FPR {at['fpr']:.4f}  (tp {at['tp']} fp {at['fp']} "
          f"fn {at['fn']} tn {at['tn']})")
    print(f"report: {out / 'index.html'}  metrics: {out / 'metrics.json'}")
    if args.json:
        print(json.dumps(result, indent=2, default=float))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    data = sub.add_parser("data", help="datasets")
    data_sub = data.add_subparsers(dest="data_cmd", required=True, metavar="COMMAND")
    synth = data_sub.add_parser("synth", help="realistic synthetic data with the Kaggle schema")
    synth.add_argument("--rows", type=whole(1), default=284_807)
    synth.add_argument("--fraud-rate", type=fraction, default=0.0017)
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--overlap", type=share, default=0.15,
                       help="share of frauds camouflaged as normal payments (0..1)")
    synth.add_argument("--patterns", type=whole(1), default=3, help="distinct fraud patterns")
    synth.add_argument("--format", choices=("kaggle", "raw"), default="kaggle")
    synth.add_argument("--out", required=True)
    synth.set_defaults(func=cmd_synth)

    tr = sub.add_parser("train", help="train a model (the autoencoder, or a supervised one) "
                                      "and export a verified ONNX model")
    tr.add_argument("--data", required=True, help="Kaggle creditcard.csv or raw-format file")
    tr.add_argument("--kind", choices=("autoencoder", "supervised"), default="autoencoder",
                    help="autoencoder (unsupervised, the default) or supervised (a classifier "
                         "trained on the labels, reading the autoencoder's score too)")
    tr.add_argument("--labels", help="labels file (ID,LABEL,LABELLED_AT,SOURCE, as `fraudctl "
                                     "labels export` writes) joined to a raw-format --data by "
                                     "payment ID; without it, the file's own Class column")
    tr.add_argument("--out", required=True, help="directory for model.onnx, card and report")
    tr.add_argument("--split", choices=("random", "time"), default="random")
    tr.add_argument("--seed", type=int, default=42)
    tr.add_argument("--epochs", type=whole(1), default=30)
    tr.add_argument("--batch-size", type=whole(1), default=256)
    tr.add_argument("--hidden", type=sizes,
                    help="train this one architecture (layer sizes, e.g. 20,8,20) instead of "
                         "choosing among the candidates")
    tr.add_argument("--fast", action="store_true",
                    help="one model (20-8-20), no candidate selection: for tests and demos")
    tr.add_argument("--fpr", type=fraction, default=0.01,
                    help="threshold target: false-positive rate on normal validation rows")
    tr.add_argument("--alert-rate", type=fraction,
                    help="threshold target instead: share of all validation rows that alert")
    tr.add_argument("--verbose", action="store_true", help="show TensorFlow's own log lines")
    tr.set_defaults(func=cmd_train)

    ev = sub.add_parser("evaluate", help="metrics and report of a model on a labelled file")
    ev.add_argument("--model", required=True)
    ev.add_argument("--data", required=True)
    ev.add_argument("--out", help="report directory (default: beside the model)")
    ev.add_argument("--fpr", type=fraction, default=0.01)
    ev.add_argument("--json", action="store_true")
    ev.set_defaults(func=cmd_evaluate)
