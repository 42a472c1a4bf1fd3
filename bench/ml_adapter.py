"""A benchmark adapter that imports numpy and scikit-learn when it is imported, as a real ML
adapter does, so boot and memory figures carry their cost; ``predict`` uses a tiny model
fitted in ``on_start``.

``PYTHONPATH=priv/python python bench/ml_adapter.py`` fits the model and prints one prediction.
"""
import numpy as np
from sklearn.linear_model import LogisticRegression

from snakepit_bridge import BaseAdapter, tool


class MlAdapter(BaseAdapter):
    thread_safe = True  # predict only reads the fitted model

    def on_start(self) -> None:
        points = np.random.default_rng(0).normal(size=(200, 2))
        labels = (points[:, 0] + points[:, 1] > 0).astype(int)
        self.model = LogisticRegression().fit(points, labels)

    @tool
    def predict(self, rows):
        """Class (0 or 1) and probability of class 1 for each row of two numbers."""
        x = np.asarray(rows, dtype=float)
        if x.ndim != 2 or x.shape[1] != 2:
            raise ValueError(f"rows must be a list of [x, y] pairs, got shape {x.shape}")
        return {
            "classes": self.model.predict(x).tolist(),
            "probabilities": self.model.predict_proba(x)[:, 1].round(6).tolist(),
        }


if __name__ == "__main__":
    adapter = MlAdapter()
    adapter.on_start()
    print(adapter.predict([[1.0, 1.0], [-1.0, -2.0]]))
