"""The CJK font of the reports: Noto Sans SC from the PyPI package ``pylopdf-fonts-zh-cn``.

中文字体：由项目自行安装的 PyPI 包 ``pylopdf-fonts-zh-cn`` 提供 Noto Sans SC（SIL OFL-1.1）。
The machine need not have any CJK font: the project installs its own. :func:`use_cjk_font`
registers the font file with matplotlib's font manager (once per process) and puts it first
in ``font.sans-serif``, so every figure and PDF page drawn afterwards in this process
renders Chinese with it; matplotlib embeds the glyphs it uses in each PDF (the default
``pdf.fonttype`` 3 subsets), so the PDF reads the same on a machine without the font.
"""

from __future__ import annotations

from importlib import resources

from warn.errors import Problem, WarnError

#: The family name matplotlib reads from the font file.
FAMILY = "Noto Sans SC"
_PACKAGE = "pylopdf_fonts_zh_cn"
_FILE = "NotoSansSC-Regular.otf"


def use_cjk_font() -> str:
    """Register Noto Sans SC with matplotlib and make it the first sans-serif family.

    Idempotent: the font file is added to the font manager only once per process.

    Returns
    -------
    str
        The font file's path.

    Raises
    ------
    WarnError
        If ``pylopdf-fonts-zh-cn`` is not installed, or does not hold the font file.
    """
    import matplotlib
    from matplotlib import font_manager

    path = font_file()
    if not any(entry.fname == path for entry in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(path)
    families = [FAMILY, *(f for f in matplotlib.rcParams["font.sans-serif"] if f != FAMILY)]
    matplotlib.rcParams["font.sans-serif"] = families
    matplotlib.rcParams["font.family"] = "sans-serif"
    return path


def font_file() -> str:
    """The path of the Noto Sans SC font file (OpenType), for matplotlib and the web pages.

    Raises
    ------
    WarnError
        If ``pylopdf-fonts-zh-cn`` is not installed, or does not hold the font file.
    """
    try:
        font = resources.files(_PACKAGE).joinpath(_FILE)
    except ModuleNotFoundError:
        raise WarnError(Problem("python environment", _PACKAGE, "the font package installed",
                                "not found", "pip install pylopdf-fonts-zh-cn (a dependency of warn)")) from None
    path = str(font)
    if not font.is_file():
        raise WarnError(Problem(path, "", "the Noto Sans SC font file", "no such file",
                                "reinstall pylopdf-fonts-zh-cn"))
    return path
