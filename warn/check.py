"""``warn check``: validate a deployment — config.yaml, the model files, the layers.

Collects every problem before reporting, so an engineer fixes a broken deployment in
one pass. Each problem names the file, the key path and what was expected.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from warn.config import Settings, load_settings
from warn.durations import iso_duration
from warn.errors import ConfigError, Problem, WarnError
from warn.vocab import CapStatus

if TYPE_CHECKING:
    from warn.broadcast.wording import Templates
    from warn.store import Store

#: The CAP statuses of a drill store's messages.
DRILL_STATUSES = frozenset({"Exercise", "Test"})
#: Placeholders a configured feed URL may hold: the demo world's servers.
URL_PLACEHOLDERS = ("feed", "sensorthings")
#: The worst case every SMS template must fit besides the deployment's issuer and longest town name: the
#: relayed source, many places with long names, a long reference and expectation.
WORST_RELAYED_FROM = "某某自治县气象台"
WORST_PLACES = 40
WORST_PLACE_NAME = "某某某某村某某滑坡隐患点"
WORST_REFERENCE = "某某202607151430-99"
WORST_EXPECTED = "未来3小时累计雨量可达100毫米以上"


def check_deployment(config_path: Path) -> list[Problem]:
    """Every problem in the deployment wired by ``config_path``; empty when it is valid."""
    try:
        settings = load_settings(config_path)
    except WarnError as err:
        return list(err.problems)
    where = str(config_path)
    checks: list[Callable[[Settings, str], Iterator[Problem]]] = [
        _models, _layers, _areas, _hazards, _forecasts, _observed, _sensors, _official, _sim, _playbooks, _directory,
        _publication, _messages, _channels, _reach, _outage, _retention, _identity, _anchors, _municipal,
        _compute,
    ]
    return [problem for check in checks for problem in check(settings, where)]


def is_drill(settings: Settings, store: Store) -> bool:
    """Whether acting on ``store`` is a drill — people may be named without proof (the CLI's ``--as``, the
    pages' drill login): the deployment is not live, or ``store`` is a drill's."""
    return not settings.deployment.live or drill_store(store)


def drill_store(store: Store) -> bool:
    """Whether ``store`` is a drill's: every message it ever published is Exercise or Test (and it published one)."""
    statuses = store.cap_statuses()
    return bool(statuses) and statuses <= DRILL_STATUSES


def publish_status(requested: CapStatus, settings: Settings, config_path: Path, store: Store) -> CapStatus:
    """The CAP status a command or the service may publish into ``store`` when asked for ``requested``.

    A deployment not marked live (``deployment.live: false``, a drill) publishes Exercise in
    place of Actual. A live one publishes Actual into a store that has published Actual before;
    into one that never has, only once the deployment passes :func:`check_deployment` — checked
    at that moment.

    Raises
    ------
    ConfigError
        Actual asked of a live deployment, into a store that never published Actual, and the
        deployment fails ``warn check``: its problems, after one saying so.
    """
    if requested is not CapStatus.ACTUAL:
        return requested
    if not settings.deployment.live:
        return CapStatus.EXERCISE
    if CapStatus.ACTUAL.value in store.cap_statuses():
        return CapStatus.ACTUAL
    problems = check_deployment(config_path)
    if problems:
        raise ConfigError(Problem(str(config_path), "deployment.live",
                                  "a deployment that passes `warn check` before its store's first Actual message",
                                  f"{len(problems)} problem(s), below", "nothing was published"), *problems)
    return CapStatus.ACTUAL


def _collect(call: Callable[[], object]) -> list[Problem]:
    try:
        call()
    except WarnError as err:
        return list(err.problems)
    return []


def _models(settings: Settings, where: str) -> Iterator[Problem]:
    """The shared model files config.yaml names, then every other YAML file in their folders (a
    hazard's model file by its hazard's schema; the ones ``hazards:`` names are checked there)."""
    from warn import hazards
    from warn.declarative import Strict, parse_file, read_yaml
    from warn.modelfiles import MODELS, load_model_file
    from warn.registry import Registry

    for name, path in settings.models.items():
        if not path.exists():
            yield Problem(where, f"models.{name}", "an existing model file", str(path))
            continue
        yield from _collect(lambda: load_model_file(name, path, where=where, key=f"models.{name}"))
    if "rain" not in settings.models:
        yield Problem(where, "models.rain", "the rain model file (models/rain.yaml)", "nothing")
    named = {path.resolve() for path in settings.models.values()}
    named |= {entry.model.resolve() for entry in settings.hazards.values() if entry.model is not None}
    folders = {path.resolve().parent for path in settings.models.values() if path.parent.is_dir()}
    known: Registry[type[Strict]] = Registry("model")
    for name in MODELS.names():
        known.add(name, MODELS.get(name).schema)
    for spec in map(hazards.get, hazards.names()):
        if spec.model is not None:
            known.add(spec.name, spec.model())
    for path in sorted(p for folder in folders for p in folder.glob("*.yaml") if p.resolve() not in named):
        def validate(path: Path = path) -> None:
            data = read_yaml(path)
            declared = data.get("model") if isinstance(data, dict) else None
            parse_file(known.get(str(declared), where=str(path), key="model"), path)

        yield from _collect(validate)


def _layers(settings: Settings, where: str) -> Iterator[Problem]:
    from warn.geo.layers import load_layer

    for name, spec in settings.layers.items():
        if not spec.path.exists():
            yield Problem(where, f"layers.{name}.path", "an existing GeoPackage or GeoJSON file", str(spec.path))
            continue
        try:
            layer = load_layer(spec.path, spec.layer, crs=spec.crs, id_field=spec.id_field)
        except WarnError as err:
            yield from err.problems
            continue
        for key in ("town_field", "people_field"):
            field = getattr(spec, key)
            if field is not None and field not in layer:
                yield Problem(f"{spec.path}#{spec.layer}", field, f"the attribute named by layers.{name}.{key}",
                              f"attributes {', '.join(c for c in layer.columns if c != 'geometry')}")


def _hazards(settings: Settings, where: str) -> Iterator[Problem]:
    """Every hazard section: a registered hazard, its own keys only, its model file, a layer for
    every role it needs carrying the attributes it reads, its inputs configured, its own checks."""
    from warn import hazards
    from warn.geo.layers import zone_layer
    from warn.hazards.spec import Input

    try:
        deployed = hazards.deployed(settings)
    except WarnError as err:
        yield from (Problem(where if p.where == "config.yaml" else p.where, p.key, p.expected, p.got, p.hint)
                    for p in err.problems)
        return
    for d in deployed:
        for role, layer_name in d.section.layers.items():
            try:
                spec, layer = zone_layer(settings, layer_name)
            except WarnError:
                continue  # reported by _layers
            missing = [f for f in d.spec.role(role).fields if f not in layer]
            if missing:
                yield Problem(f"{spec.path}#{spec.layer}", ", ".join(missing),
                              f"the attributes {d.spec.name}'s role {role!r} reads",
                              f"attributes {', '.join(c for c in layer.columns if c != 'geometry')}",
                              f"hazards.{d.spec.name}.layers.{role}: {layer_name}")
        if Input.OFFICIAL in d.spec.inputs and not d.spec.roles and not any(
                o.hazard == d.spec.name for o in settings.official.values()):
            yield Problem(where, "official", f"a source of official {d.spec.name} bulletins (hazard: {d.spec.name}), "
                          f"the only input of {d.spec.name}", "none")
        if Input.SENSORS in d.spec.inputs and settings.sensors is None:
            yield Problem(where, "sensors", f"the sensor catalogue and feeds {d.spec.name} reads", "nothing")
        if d.spec.check is not None:
            yield from (Problem(where if p.where == "config.yaml" else p.where, p.key, p.expected, p.got, p.hint)
                        for p in d.spec.check(settings, d.section, d.params))



def _forecasts(settings: Settings, where: str) -> Iterator[Problem]:
    from warn.sources.forecast import DECODERS

    for name, spec in settings.forecasts.items():
        if spec.format != "auto" and spec.format not in DECODERS:
            yield from _collect(lambda: DECODERS.get(spec.format, where=where, key=f"forecasts.{name}.format"))
        if "{issued" not in spec.url:
            yield Problem(where, f"forecasts.{name}.url", "a template with the run time, e.g. {issued:%Y%m%d%H}",
                          spec.url)


def _observed(settings: Settings, where: str) -> Iterator[Problem]:
    """``observed:``: the model files it needs, a radar template with the frame time, and one step for the
    radar frames, the analysis and the nowcast (the nowcast advects the analysed frames step by step)."""
    from warn.modelfiles import load_model_file
    from warn.sources.forecast import DECODERS

    observed = settings.observed
    if observed is None:
        return
    needed = ["analysis", *(["nowcast"] if observed.nowcast and observed.radar is not None else [])]
    missing = [name for name in needed if name not in settings.models]
    for name in missing:
        yield Problem(where, f"models.{name}", f"the {name} model file (models/{name}.yaml) that observed: needs",
                      "nothing")
    radar = observed.radar
    if radar is not None:
        if "{time" not in radar.url:
            yield Problem(where, "observed.radar.url", "a template with the frame time, e.g. {time:%Y%m%d%H%M}",
                          radar.url)
        if radar.format != "auto" and radar.format not in DECODERS:
            yield from _collect(lambda: DECODERS.get(radar.format, where=where, key="observed.radar.format"))
    if missing or not all(settings.models[name].exists() for name in needed):
        return  # said by _models
    try:
        steps = {"models.analysis step": load_model_file("analysis", settings.models["analysis"]).params().step}
        if "nowcast" in needed:
            steps["models.nowcast horizon.step"] = load_model_file("nowcast", settings.models["nowcast"]).params().step
    except WarnError:
        return  # said by _models
    if radar is not None:
        steps["observed.radar.every"] = radar.every
    if len(set(steps.values())) > 1:
        yield Problem(where, "observed", "one step for the radar frames, the analysis and the nowcast",
                      ", ".join(f"{key} {iso_duration(step)}" for key, step in steps.items()))


def _sensors(settings: Settings, where: str) -> Iterator[Problem]:
    """The catalogue loads, and every per-sensor QC override names a catalogued sensor."""
    from warn.modelfiles import load_model_file
    from warn.sources.catalogue import load_catalogue

    if settings.sensors is None:
        return
    if not settings.sensors.catalogue.exists():
        yield Problem(where, "sensors.catalogue", "an existing sensor catalogue (CSV)", str(settings.sensors.catalogue))
        return
    try:
        catalogue = load_catalogue(settings.sensors.catalogue, limit=settings.files.max_catalogue_bytes)
    except WarnError as err:
        yield from err.problems
        return
    path = settings.models.get("sensors")
    if path is None:
        yield Problem(where, "models.sensors", "the QC model file (models/sensors.yaml) for the sensors section",
                      "nothing")
        return
    try:
        params = load_model_file("sensors", path).params()
    except WarnError:
        return  # reported by _models
    for sensor_id in params.overrides:
        if sensor_id not in catalogue:
            yield Problem(str(path), f"overrides.{sensor_id}", "a sensor of the catalogue", repr(sensor_id),
                          f"catalogue: {settings.sensors.catalogue}")


def _areas(settings: Settings, where: str) -> Iterator[Problem]:
    """The deployment's towns and district outline name configured layers."""
    for key in ("towns", "district"):
        layer = getattr(settings.areas, key)
        if layer is not None and layer not in settings.layers:
            yield Problem(where, f"areas.{key}", f"a layer among {', '.join(settings.layers)}", repr(layer))


def _official(settings: Settings, where: str) -> Iterator[Problem]:
    """Every official source's URL is http(s) once the demo's placeholders are filled, its
    placeholders are known ones, and its hazard is deployed and reads official bulletins."""
    from warn import hazards
    from warn.config import fill
    from warn.hazards.spec import Input

    for name, spec in settings.official.items():
        key = f"official.{name}.url"
        unknown = sorted(set(re.findall(r"{(\w*)}", spec.url)) - set(URL_PLACEHOLDERS))
        if unknown:
            yield Problem(where, key, f"placeholders among {', '.join('{' + p + '}' for p in URL_PLACEHOLDERS)}",
                          ", ".join("{" + p + "}" for p in unknown))
        elif not fill(spec.url, dict.fromkeys(URL_PLACEHOLDERS, "http://127.0.0.1:9")).startswith(
                ("http://", "https://")):
            yield Problem(where, key, "an http(s) URL of one CAP 1.2 message or of a JSON list of their URLs",
                          spec.url)
        if spec.hazard not in settings.hazards:
            yield Problem(where, f"official.{name}.hazard", f"a hazard of hazards: ({', '.join(settings.hazards)})",
                          repr(spec.hazard))
        elif Input.OFFICIAL not in hazards.get(spec.hazard).inputs:
            yield Problem(where, f"official.{name}.hazard", "a hazard that reads official bulletins ("
                          + ", ".join(n for n in settings.hazards if n in hazards.names()
                                      and Input.OFFICIAL in hazards.get(n).inputs) + ")", repr(spec.hazard))


def _sim(settings: Settings, where: str) -> Iterator[Problem]:
    sim = settings.sim
    if sim is None:
        return
    if not sim.feed_dir.is_dir():
        yield Problem(where, "sim.feed_dir", "an existing folder of demo forecast runs", str(sim.feed_dir))
    if sim.source not in settings.forecasts:
        yield Problem(where, "sim.source", f"one of the forecasts ({', '.join(settings.forecasts)})", repr(sim.source))
    if sim.truth is not None and not sim.truth.is_file():
        yield Problem(where, "sim.truth", "an existing file of the storm every 10 minutes", str(sim.truth))


def _playbooks(settings: Settings, where: str) -> Iterator[Problem]:
    """playbooks/*.yaml validate (each problem names the file, the step id and the key), the roster
    reads, and every role a playbook names is on the roster."""
    from warn.command.loading import load_setup

    spec = settings.command
    if spec is None:
        return
    if not spec.playbooks.is_dir():
        yield Problem(where, "command.playbooks", "an existing folder of playbooks (*.yaml)", str(spec.playbooks))
        return
    if not spec.roster.exists():
        yield Problem(where, "command.roster", "an existing roster file (YAML or CSV)", str(spec.roster))
        return
    from warn import hazards

    try:
        setup = load_setup(spec, settings.deployment.district_code, hazards.names_zh(),
                           roster_limit=settings.files.max_roster_bytes)
    except WarnError as err:
        yield from err.problems
        return
    ids = {playbook.id for playbook in setup.playbooks}
    for playbook in setup.playbooks:
        if playbook.hazard not in hazards.names():
            yield Problem(str(spec.playbooks / f"{playbook.id}.yaml"), "hazard",
                          f"a registered hazard among {', '.join(hazards.names())}", repr(playbook.hazard))
    for name in settings.hazards:
        if name in hazards.names():
            for wanted in hazards.get(name).playbooks:
                if wanted not in ids:
                    yield Problem(str(spec.playbooks), wanted, f"the playbook {wanted!r} hazard {name} answers "
                                  "its warnings with", f"playbooks {', '.join(sorted(ids))}")


@dataclass(frozen=True)
class Watched:
    """A point a monitor watches, as its hazard layer has it: a hazard point, waterlogging point, gauge, catchment.

    Attributes
    ----------
    item_id
        Its id in the layer.
    layer
        The name of its layer in ``layers:``.
    town
        Its town's code (the layer's ``town_field``); ``None`` when the layer has none.
    people
        People threatened (the layer's ``people_field``); ``None`` when the layer has none.
    """

    item_id: str
    layer: str
    town: str | None
    people: int | None


def watched_points(settings: Settings) -> dict[str, Watched]:
    """Every point of the deployment's hazard layers a monitor watches, by id: the items of every role of a
    deployed hazard whose items are points or catchments (found through the hazards' roles, never by name).

    Raises
    ------
    WarnError
        A hazard or a layer that does not load (``warn check`` reports it with the hazards and layers).
    """
    from warn import hazards
    from warn.geo.layers import zone_layer
    from warn.vocab import ItemKind

    layers = dict.fromkeys(entry.layers[role.name] for name, entry in settings.hazards.items()
                           if name in hazards.names() for role in hazards.get(name).roles
                           if role.kind in (ItemKind.POINT, ItemKind.CATCHMENT) and role.name in entry.layers)
    found: dict[str, Watched] = {}
    for layer in layers:
        spec, frame = zone_layer(settings, layer)
        for _, row in frame.iterrows():
            town = row[spec.town_field] if spec.town_field in frame else None
            people = row[spec.people_field] if spec.people_field in frame else None
            found.setdefault(str(row[spec.id_field]), Watched(str(row[spec.id_field]), layer, town and str(town),
                                                              None if people is None else int(people)))
    return found


def _directory(settings: Settings, where: str) -> Iterator[Problem]:
    """The people directory against the layers: every town of the towns layer has a community and the directory
    no other town; every watched point of the hazard layers is among its points, in a community of the point's
    town, with a monitor; and it holds no other point. (Its own cross-references and the roster's persons are
    checked as it loads, with the playbooks.)"""
    from warn.command.loading import load_directory
    from warn.command.model import OrgUnit
    from warn.geo.layers import zone_layer
    from warn.vocab import OrgLevel

    spec = settings.command
    if spec is None or spec.directory is None:
        return
    if not spec.directory.exists():
        yield Problem(where, "command.directory", "an existing directory: a JSON file or a folder of CSV files",
                      str(spec.directory))
        return
    try:
        directory = load_directory(spec.directory, max_bytes=settings.files.max_roster_bytes,
                                   district=settings.deployment.district_code)
        towns_spec, towns_layer = zone_layer(settings, settings.areas.towns)
        watched = watched_points(settings)
    except WarnError:
        return  # reported by _playbooks, _areas, _layers and _hazards
    file = str(spec.directory)
    towns = {str(code) for code in towns_layer[towns_spec.id_field]}
    listed = {u.code for u in directory.org.parents if u.level is OrgLevel.TOWN}
    for town in sorted(towns):
        if not directory.org.children(OrgUnit(OrgLevel.TOWN, town), OrgLevel.COMMUNITY):
            yield Problem(file, "units", f"at least one community of the town {town} (towns layer "
                          f"{settings.areas.towns})", "none", "每个镇街至少一个村社 / every town has its communities")
    for town in sorted(listed - towns):
        yield Problem(file, "units", f"towns of the towns layer {settings.areas.towns}", repr(town))
    for item_id, point in sorted(watched.items()):
        record = directory.points.get(item_id)
        if record is None:
            yield Problem(file, "points", f"the point {item_id} of the layer {point.layer}, with its community "
                          "and monitor", "none")
            continue
        its_town = directory.org.ancestor(record.community, OrgLevel.TOWN)
        if point.town is not None and (its_town is None or its_town.code != point.town):
            yield Problem(file, f"points.{item_id}.community", f"a community of the town {point.town} (the layer "
                          f"{point.layer} puts {item_id} there)",
                          f"{record.community.code} of {its_town and its_town.code}")
        if record.monitor is None:
            yield Problem(file, f"points.{item_id}.monitor", "the person who watches the point (群测群防员)", "none")
    for item_id in sorted(set(directory.points) - set(watched)):
        yield Problem(file, f"points.{item_id}", "a point of a hazard layer a monitor watches",
                      "no layer has it", "remove it or add it to its layer")


def _publication(settings: Settings, where: str) -> Iterator[Problem]:
    """``command.publication.public_from`` names registered hazards, and none that another authority
    issues: the met office's rainstorm signal is relayed to the responsible people, never published to the
    public in the district's name (气象法 第二十二条)."""
    from warn import hazards

    if settings.command is None:
        return
    for name in settings.command.publication.public_from:
        key = f"command.publication.public_from.{name}"
        if name not in hazards.names():
            yield Problem(where, key, f"a registered hazard ({', '.join(hazards.names())})", repr(name))
        elif hazards.get(name).relayed:
            yield Problem(where, key, "no public level: its public warnings are another authority's (气象法 第二十二条: "
                          "the met office alone issues them); the district relays them to its responsible people",
                          f"public from {settings.command.publication.public_from[name]}",
                          f"remove {name} from public_from / 删除该项，本区只转发、不以本区名义发布")


def _messages(settings: Settings, where: str) -> Iterator[Problem]:
    """The message templates (``<playbooks>/messages/messages.yaml``) load, hold every hazard of the
    deployment, and fit the worst-case SMS at every level and audience; the national event-code file
    has an entry for every hazard of the deployment."""
    from warn.broadcast.wording import TEMPLATES_FILE, load_templates
    from warn.cap.national import EVENTS_FILE, load_event_codes

    try:
        events = load_event_codes()
    except WarnError as err:
        yield from err.problems
    else:
        yield from (Problem(str(EVENTS_FILE), f"hazards.{name}", "the hazard's national event code, or code: null "
                            "and why it could not be verified", "none") for name in settings.hazards
                    if name not in events.hazards)
    if settings.command is None:
        return
    path = settings.command.playbooks / TEMPLATES_FILE
    if not path.exists():
        yield Problem(where, "command.playbooks", f"the message templates in {TEMPLATES_FILE} of the playbooks folder",
                      f"no {path}")
        return
    try:
        templates = load_templates(path)
    except WarnError as err:
        yield from err.problems
        return
    for name in settings.hazards:
        if name not in templates.file.hazards:
            yield Problem(str(path), f"hazards.{name}", f"the templates of {name}, a hazard of the deployment", "none")
        else:
            yield from _worst_sms(settings, templates, name)


def _worst_sms(settings: Settings, templates: Templates, hazard: str) -> Iterator[Problem]:
    """Every level and audience of ``hazard`` words the worst case (the deployment's issuer, its longest town,
    :data:`WORST_PLACES` places …) in one SMS."""
    from datetime import datetime, timedelta, timezone
    from functools import partial

    from warn.broadcast.wording import Notice, Place, word
    from warn.vocab import Audience, Level

    sent = datetime(2026, 7, 15, 6, 30, tzinfo=timezone.utc)
    places = tuple(Place(WORST_PLACE_NAME, "隐患点", Level.RED) for _ in range(WORST_PLACES))
    for level in (Level.BLUE, Level.YELLOW, Level.ORANGE, Level.RED, Level.NONE):
        for audience in Audience:
            notice = Notice(hazard=hazard, level=level, audience=audience, issuer=settings.deployment.issuer.zh,
                            issuer_short=settings.deployment.issuer.short, sent=sent, until=sent + timedelta(hours=6),
                            area=_longest_town(settings), places=places, expected=WORST_EXPECTED,
                            reference=WORST_REFERENCE, relayed_from=WORST_RELAYED_FROM)
            yield from _collect(partial(word, notice, templates))


def _longest_town(settings: Settings) -> str:
    """The longest town name of the deployment's towns layer (a generic six-character one without it)."""
    from warn.geo.layers import zone_layer

    generic = "某某某某街道"
    try:
        spec, layer = zone_layer(settings, settings.areas.towns)
    except WarnError:
        return generic  # reported by _layers
    if spec.name_field not in layer:
        return generic
    return max([generic, *(str(name) for name in layer[spec.name_field])], key=len)


def _channels(settings: Settings, where: str) -> Iterator[Problem]:
    """Every channel builds (kind known, the secrets its kind needs named, kind-specific keys such as an
    smtp sender or an mqtt topic) — without the secrets set: each named variable gets a placeholder.
    The drill's channels (``sim.channels``) are built with their placeholders filled as a drill fills them."""
    import tempfile

    from warn.broadcast.channels import build_channels
    from warn.config import drill_settings

    specs = dict(settings.channels)
    if settings.sim is not None and settings.sim.channels:
        stand_ins = {"receiver": "http://127.0.0.1:9", "gateways": "http://127.0.0.1:9"}
        drill = drill_settings(settings, Path(tempfile.gettempdir()) / "warn-check", stand_ins)
        specs |= {f"sim.{name}": spec for name, spec in drill.channels.items()}
    for name, spec in specs.items():
        placeholders = {var: "placeholder" for var in spec.secrets.values()}
        try:
            built = build_channels({name: spec}, env=placeholders)
        except WarnError as err:
            yield from (Problem(where if p.where == "config.yaml" else p.where, p.key, p.expected, p.got, p.hint)
                        for p in err.problems)
            continue
        for channel in built.values():
            channel.close()


def _reach(settings: Settings, where: str) -> Iterator[Problem]:
    """Every channel ``reach:`` names is a person channel of ``channels:`` (and of ``sim.channels``, which a drill
    uses instead), the voice channel of kind voice, every role a role."""
    from warn.command.model import Role
    from warn.cycle.reach import CONTACT_OF

    spec = settings.reach
    if spec is None:
        return
    places = [("channels", settings.channels)]
    if settings.sim is not None and settings.sim.channels:
        places.append(("sim.channels", settings.sim.channels))
    named = [(f"reach.rules.{i}.channels.{j}", name, tuple(CONTACT_OF))
             for i, rule in enumerate(spec.rules) for j, name in enumerate(rule.channels)]
    if spec.voice is not None:
        named.append(("reach.voice", spec.voice, ("voice",)))
    for key, name, kinds in named:
        for section, channels in places:
            found = channels.get(name)
            if found is None or found.kind not in kinds:
                yield Problem(where, key, f"a channel of {section} of kind {' or '.join(kinds)}",
                              f"{name!r} ({found.kind})" if found is not None else f"{name!r}, not in {section}")
    roles = set(Role.__members__.values())
    for i, rule in enumerate(spec.rules):
        for j, role in enumerate(rule.roles):
            if role not in roles:
                yield Problem(where, f"reach.rules.{i}.roles.{j}", f"a role among {', '.join(sorted(roles))}",
                              repr(role))


def _outage(settings: Settings, where: str) -> Iterator[Problem]:
    """Every channel ``store.outage_channels`` names is a group channel (a robot or a webhook) of ``channels:`` and
    of ``sim.channels``, which a drill uses instead: the store's outage is told without a recipient."""
    from warn.outage import GROUP_KINDS

    places = [("channels", settings.channels)]
    if settings.sim is not None and settings.sim.channels:
        places.append(("sim.channels", settings.sim.channels))
    for i, name in enumerate(settings.store.outage_channels):
        for section, channels in places:
            found = channels.get(name)
            if found is None or found.kind not in GROUP_KINDS:
                yield Problem(where, f"store.outage_channels.{i}", f"a channel of {section} of kind "
                              f"{' or '.join(GROUP_KINDS)}",
                              f"{name!r} ({found.kind})" if found is not None else f"{name!r}, not in {section}")


def _retention(settings: Settings, where: str) -> Iterator[Problem]:
    """The archive folder of ``store.retention`` is a folder warn can write in, or can be made in one."""
    import os

    retention = settings.store.retention
    if retention is None:
        return
    folder = retention.archive
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if not existing.is_dir():
        yield Problem(where, "store.retention.archive", "a folder (or a path under one) to write the archive in",
                      f"{str(existing)!r}, not a folder")
    elif not os.access(existing, os.W_OK | os.X_OK):
        yield Problem(where, "store.retention.archive", "a folder warn can write in", f"{str(existing)!r}, not writable",
                      "归档前读数不会删除；请修正权限 / nothing is removed before it is archived: fix the permissions")


def _identity(settings: Settings, where: str) -> Iterator[Problem]:
    """Every OS login of ``identity.os_users`` maps to a person on the roster."""
    from warn import hazards
    from warn.command.loading import load_setup

    if not settings.identity.os_users:
        return
    if settings.command is None:
        yield Problem(where, "identity.os_users", "a command section with the roster the people are on", "none")
        return
    try:
        people = load_setup(settings.command, settings.deployment.district_code, hazards.names_zh()).roster.people()
    except WarnError:
        return  # reported by _playbooks
    for login, person in settings.identity.os_users.items():
        if person not in people:
            yield Problem(where, f"identity.os_users.{login}", "a person on the roster", repr(person),
                          f"roster: {settings.command.roster}")


def _anchors(settings: Settings, where: str) -> Iterator[Problem]:
    """The anchors' key is an Ed25519 private key only its owner may read, and every witness file's folder exists."""
    from warn.store.anchors import load_private

    if settings.anchors is None:
        return
    yield from _collect(lambda: load_private(settings.anchors.key) if settings.anchors else None)
    for index, witness in enumerate(settings.anchors.witness):
        if witness.file is not None and not witness.file.parent.is_dir():
            yield Problem(where, f"anchors.witness[{index}].file", "a file in an existing folder",
                          str(witness.file), "见证文件应在另一卷上 / keep it on another volume")


def _municipal(settings: Settings, where: str) -> Iterator[Problem]:
    """A district of a municipality keeps its store in PostgreSQL, in a schema of its own (the URL's
    ``options=-csearch_path=…``) other than the city's, and is not the city itself."""
    municipal = settings.municipal
    if municipal is None:
        return
    url = settings.store.url
    hint = "由 warn municipal init 生成 / as warn municipal init writes it"
    if not url.startswith("postgresql"):
        yield Problem(where, "store.url", "a postgresql+psycopg:// URL: a municipality shares one PostgreSQL "
                      "database (municipal: is set)", url.split("://")[0] + "://…", hint)
        return
    schema = re.search(r"search_path(?:=|%3D)([a-z_][a-z0-9_]*)", url)
    if schema is None:
        yield Problem(where, "store.url", "options=-csearch_path=<the district's schema> in the URL",
                      "no search_path", hint)
    elif schema.group(1) == municipal.city_schema:
        yield Problem(where, "municipal.city_schema", "the city's schema, not the district's own",
                      municipal.city_schema, hint)
    if municipal.city_code == settings.deployment.district_code:
        yield Problem(where, "municipal.city_code", "the municipality's code, not the district's own",
                      municipal.city_code, "the municipal centre's own config.yaml has no municipal: section")


def _compute(settings: Settings, where: str) -> Iterator[Problem]:
    """``compute:`` (or ``WARN_COMPUTE_SCHEDULER``): a scheduler given by address answers and has workers
    (:func:`warn.compute.check`)."""
    import os

    from warn.compute import SCHEDULER_ENV, check, configured

    try:
        spec = configured(settings.compute, os.environ)
    except ConfigError as err:
        yield from err.problems
        return
    yield from check(spec, where if SCHEDULER_ENV not in os.environ else f"{where} ({SCHEDULER_ENV})")
