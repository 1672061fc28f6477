"""LossCurveDisplay: the training loss per epoch of a fitted MLP, in
scikit-learn's Display convention (``from_estimator``, ``plot``, ``ax_``,
``figure_``). matplotlib is imported only to draw.
"""
import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils.validation import check_is_fitted


class LossCurveDisplay:
    """Loss curve visualization: the training loss after each epoch and, when
    early stopping ran, the validation score on a second y axis.

    Made by :meth:`LossCurveDisplay.from_estimator`, or directly from the
    attributes below and then :meth:`plot`.

    Parameters
    ----------
    loss_curve : array-like of shape (n_epochs,)
        Training loss after each epoch (an MLP's ``loss_curve_``).
    validation_scores : array-like of shape (n_epochs,), default=None
        Validation score after each epoch (``validation_scores_``), or None.
    estimator_name : str, default=None
        Name of the estimator, the plot's title.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes with the loss curve.
    figure_ : matplotlib Figure
        Figure containing the curve.
    line_ : matplotlib Line2D
        The training loss.
    validation_ax_ : matplotlib Axes or None
        The second y axis, of the validation score; None without it.
    validation_line_ : matplotlib Line2D or None
        The validation score; None without it.

    See Also
    --------
    sklearn.model_selection.LearningCurveDisplay : Scores against the number of
        training samples, from several fits.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from sklearn.datasets import load_digits
    >>> from fastmlp import LossCurveDisplay, MLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPClassifier(early_stopping=True, random_state=0).fit(X / 16, y)
    >>> display = LossCurveDisplay.from_estimator(clf)
    >>> len(display.line_.get_xdata()) == clf.n_iter_
    True
    >>> display.validation_ax_.get_ylabel()
    'Validation score'
    >>> plt.show()
    """

    def __init__(self, *, loss_curve, validation_scores=None, estimator_name=None):
        self.loss_curve = loss_curve
        self.validation_scores = validation_scores
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, name=None, line_kw=None, validation_line_kw=None):
        """Draw the curve.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure and axes when None.
        name : str, default=None
            Title of the plot; `estimator_name` when None.
        line_kw : dict, default=None
            Keyword arguments of the training loss's ``ax.plot``.
        validation_line_kw : dict, default=None
            Keyword arguments of the validation score's ``plot``.

        Returns
        -------
        display : LossCurveDisplay
            This display, with the attributes of what it drew.
        """
        check_matplotlib_support(f"{self.__class__.__name__}.plot")
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        epochs = np.arange(1, len(self.loss_curve) + 1)
        (self.line_,) = ax.plot(epochs, self.loss_curve,
                                **{"label": "Training loss", **(line_kw or {})})
        ax.set_xlabel("Epoch")
        ax.set_ylabel("Training loss")
        lines = [self.line_]
        self.validation_ax_ = self.validation_line_ = None
        if self.validation_scores is not None:
            self.validation_ax_ = ax.twinx()
            (self.validation_line_,) = self.validation_ax_.plot(
                np.arange(1, len(self.validation_scores) + 1), self.validation_scores,
                **{"label": "Validation score", "color": "C1", **(validation_line_kw or {})})
            self.validation_ax_.set_ylabel("Validation score")
            lines.append(self.validation_line_)
        # on the axes drawn last, so that no line crosses the legend
        (self.validation_ax_ or ax).legend(lines, [line.get_label() for line in lines])
        title = self.estimator_name if name is None else name
        if title is not None:
            ax.set_title(title)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, name=None, line_kw=None,
                       validation_line_kw=None):
        """Plot the loss curve of a fitted MLP (fastmlp's or scikit-learn's, or a
        Pipeline ending in one) trained with solver "sgd" or "adam".

        Parameters
        ----------
        estimator : fitted MLPClassifier, MLPRegressor or Pipeline
            The model whose ``loss_curve_`` (and ``validation_scores_``) to draw;
            a Pipeline's last step.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure and axes when None.
        name : str, default=None
            Title of the plot; the estimator's class name when None.
        line_kw, validation_line_kw : dict, default=None
            Keyword arguments of the two lines' ``plot``: see :meth:`plot`.

        Returns
        -------
        display : LossCurveDisplay
            A new display, with the attributes of what it drew.
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        if isinstance(estimator, Pipeline):
            estimator = estimator._final_estimator
        check_is_fitted(estimator)
        if getattr(estimator, "loss_curve_", None) is None:
            raise ValueError(
                f"{cls.__name__} needs a model trained with solver='sgd' or 'adam'; "
                f"{type(estimator).__name__} has no loss_curve_ (solver="
                f"{getattr(estimator, 'solver', None)!r})."
            )
        display = cls(loss_curve=list(estimator.loss_curve_),
                      validation_scores=getattr(estimator, "validation_scores_", None),
                      estimator_name=type(estimator).__name__)
        return display.plot(ax=ax, name=name, line_kw=line_kw,
                            validation_line_kw=validation_line_kw)
