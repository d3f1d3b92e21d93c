"""A Keras model whose TFLite conversion holds the real TFLite_Detection_PostProcess op.

The TF Object Detection API exports SSD models this way: a tf.function marked with
`experimental_implements="TFLite_Detection_PostProcess ..."` that the TFLite converter replaces
by the op (its TF body is never run on the device). Here the body returns what the op is
expected to compute for these constant inputs, so edgekit's verification against the Keras
model checks the real op as well. Anchors are the boxes of vision_models.BOXES, the box
encodings zeros (so each decoded box is its anchor), regular (per-class) NMS.
"""

from __future__ import annotations

import numpy as np
import keras
import tensorflow as tf

from vision_models import BOXES, SIZE

CLASSES = 3
OP_SCORE_THRESHOLD = 0.05  # the op keeps E (0.1); the caller's threshold 0.25 must drop it
SURVIVORS = [0, 2, 3, 4]  # A, C, D, E: B is suppressed by the op's NMS (IoU 0.88 with A)


def _anchors() -> np.ndarray:
    """(N, 4) y_center, x_center, height, width, normalized: the TFLite op's anchor layout."""
    return np.array([[(y0 + y1) / 2, (x0 + x1) / 2, y1 - y0, x1 - x0] for (x0, y0, x1, y1), _, _ in BOXES],
                    np.float32) / SIZE


def _scores() -> np.ndarray:
    scores = np.zeros((1, len(BOXES), CLASSES + 1), np.float32)  # column 0: background
    for i, (_, cls, score) in enumerate(BOXES):
        scores[0, i, cls + 1] = score
    return scores


def _implements() -> str:
    attrs = {"max_detections": ("i", len(SURVIVORS)), "max_classes_per_detection": ("i", 1),
             "detections_per_class": ("i", 10), "num_classes": ("i", CLASSES),
             "nms_score_threshold": ("f", OP_SCORE_THRESHOLD), "nms_iou_threshold": ("f", 0.5),
             "y_scale": ("f", 1.0), "x_scale": ("f", 1.0), "h_scale": ("f", 1.0), "w_scale": ("f", 1.0),
             "use_regular_nms": ("b", "true")}
    return " ".join(['name: "TFLite_Detection_PostProcess"'] +
                    [f"attr {{ key: '{k}' value {{ {t}: {v} }} }}" for k, (t, v) in attrs.items()])


def _expected():
    boxes = np.array([[b[1], b[0], b[3], b[2]] for b in (np.array(BOXES[i][0], np.float32) / SIZE for i in SURVIVORS)],
                     np.float32)
    classes = np.array([BOXES[i][1] for i in SURVIVORS], np.float32)
    scores = np.array([BOXES[i][2] for i in SURVIVORS], np.float32)
    return boxes, classes, scores


@tf.function(experimental_implements=_implements())
def _postprocess(box_encodings, class_scores, anchors):
    batch = tf.shape(box_encodings)[0]
    boxes, classes, scores = _expected()
    return (tf.tile(boxes[None], [batch, 1, 1]), tf.tile(classes[None], [batch, 1]),
            tf.tile(scores[None], [batch, 1]), tf.fill([batch], float(len(SURVIVORS))))


@keras.saving.register_keras_serializable(package="edgekit_tests")
class DetectionPostProcess(keras.layers.Layer):
    def call(self, x):
        zero = tf.reduce_mean(x, axis=[1, 2, 3])[:, None, None] * 0.0
        encodings = tf.zeros([1, len(BOXES), 4]) + zero
        return _postprocess(encodings, tf.constant(_scores()) + zero, tf.constant(_anchors()))


def postprocess_model():
    inputs = keras.Input((SIZE, SIZE, 3), batch_size=1, name="image")
    return keras.Model(inputs, list(DetectionPostProcess()(inputs)))
