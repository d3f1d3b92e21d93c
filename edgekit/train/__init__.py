"""`edgekit train`: from a folder of labelled data to a device-ready model.

    from edgekit.train import train
    result = train("photos/", output="flowers.keras", arch="mobilenetv2", input_size=96,
                   weights="imagenet", fine_tune=20, export=["int8"])
    result.test.accuracy, result.model.path, result.export.artifacts

The model (Keras 3) is written with its training record (`NAME.train.json`, schema
edgekit.train/1: split, preprocessing, labels, history, test metrics) and an HTML report;
`edgekit convert NAME.keras` reads the record, so its artifacts classify raw images on the
device (`edgekit.runtime.Model.classify`). TensorFlow is imported only when training starts.
"""

from .api import model_output, run, train
from .options import ARCHITECTURES, AUGMENTATIONS, ExportOptions, TrainOptions, export_options
from .record import SCHEMA, EpochRecord, TestMetrics, TrainResult, read_record, record_path, report_path

__all__ = [
    "ARCHITECTURES", "AUGMENTATIONS", "EpochRecord", "ExportOptions", "SCHEMA", "TestMetrics", "TrainOptions",
    "TrainResult", "export_options", "model_output", "read_record", "record_path", "report_path", "run", "train",
]
