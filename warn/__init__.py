"""warn — heavy-rainfall early warning and emergency command for a district governance centre.

暴雨预警与应急指挥系统：降雨预报与水位监测 → 风险研判 → 预警、防控、处置。
"""

from pathlib import Path

__version__ = "0.1.0"

#: The deployment file the commands read unless told otherwise.
DEFAULT_CONFIG = Path("config.yaml")
