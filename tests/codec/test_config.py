import pytest

from aura_wire import Encoder
from aura_wire.codec.config import CodecConfig
from aura_wire.errors import ConfigError


def test_defaults_are_valid() -> None:
    c = CodecConfig()
    assert c.min_compression_size == 8 and c.zstd_level == 3


@pytest.mark.parametrize(
    "kwargs, field",
    [({"zstd_level": 99}, "zstd_level"), ({"brotli_quality": -1}, "brotli_quality"),
     ({"window": "big"}, "window"), ({"slow_method_margin": 1.5}, "slow_method_margin"),
     ({"brio": "yes"}, "brio"), ({"no_such_knob": 1}, "no_such_knob")],
)
def test_invalid_values_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        CodecConfig.from_mapping(kwargs)
    assert info.value.field == field
    assert field in str(info.value)


def test_encoder_passes_config_through() -> None:
    with pytest.raises(ConfigError):
        Encoder(zstd_level=100)
    assert Encoder(min_compression_size=100, brio=False, templates=False).config.min_compression_size == 100
