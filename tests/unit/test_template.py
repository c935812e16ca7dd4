"""template.yaml: every function is wired to its code, and every route reaches its own function.

The template is read as data (no AWS, no sam CLI); CloudFront routing is checked with CloudFront's own
rules: cache behaviors in order, first matching path pattern wins, `*` matches any characters
(including `/`), `?` exactly one, and a path that matches none goes to the default behavior.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from fastapi.routing import APIRoute

from shared.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"
FUNCTIONS_DIR = ROOT / "functions"
FUNCTION_NAMES = sorted(path.parent.name for path in FUNCTIONS_DIR.glob("*/handler.py"))

# The DESIGN.md function table: which functions run on a schedule, and how often.
SCHEDULES = {
    "webhook_check": "rate(1 hour)",
    "demo_purge": "rate(1 hour)",
    "analytics_rollup": "rate(15 minutes)",
}
SITE = "<site bucket>"
SAMPLE_PATH_PARAMETER = "00000000-0000-0000-0000-000000000000"
ALL_METHODS = {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
# Enough to import an HTTP handler module: no connection is opened at import.
IMPORT_ENVIRONMENT = {"DATABASE_URL": "postgresql://u@localhost/db", "ENVIRONMENT": "development"}
NO_VALUE = {"Ref": "AWS::NoValue"}


class CloudFormationLoader(yaml.SafeLoader):
    """A SafeLoader that reads CloudFormation short-form tags (!Ref, !GetAtt, !Sub...) as their long form."""


def _construct_intrinsic(loader: CloudFormationLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        assert isinstance(node, yaml.MappingNode)
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix in ("Ref", "Condition"):
        return {tag_suffix: value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        return {"Fn::GetAtt": value.split(".", 1)}
    return {f"Fn::{tag_suffix}": value}


CloudFormationLoader.add_multi_constructor("!", _construct_intrinsic)


@cache
def load_template() -> dict[str, Any]:
    """template.yaml as plain data, intrinsic functions in their long (JSON) form."""
    document = yaml.load(TEMPLATE_PATH.read_text(), Loader=CloudFormationLoader)  # noqa: S506 - SafeLoader subclass
    assert isinstance(document, dict)
    return document


def resources() -> dict[str, dict[str, Any]]:
    resources_by_id: dict[str, dict[str, Any]] = load_template()["Resources"]
    return resources_by_id


def functions_by_name() -> dict[str, tuple[str, dict[str, Any]]]:
    """Function folder name (`functions/<name>/`) -> (logical id, properties) of its template function."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for logical_id, resource in resources().items():
        if resource["Type"] == "AWS::Serverless::Function":
            properties: dict[str, Any] = resource["Properties"]
            found[Path(properties["CodeUri"]).name] = (logical_id, properties)
    return found


def function_properties(name: str) -> dict[str, Any]:
    return functions_by_name()[name][1]


def import_handler(name: str) -> ModuleType:
    """The function's handler module, imported with just enough configuration and no settings leak."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in IMPORT_ENVIRONMENT.items():
            patch.setenv(key, value)
        get_settings.cache_clear()
        try:
            return importlib.import_module(f"functions.{name}.handler")
        finally:
            get_settings.cache_clear()


def is_http_function(name: str) -> bool:
    return hasattr(import_handler(name), "app")


def path_pattern_matches(pattern: str, path: str) -> bool:
    """CloudFront path-pattern matching: `*` is any characters including `/`, `?` exactly one."""
    expression = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern)
    return re.fullmatch(expression, path) is not None


def distribution_config() -> dict[str, Any]:
    distributions = [r for r in resources().values() if r["Type"] == "AWS::CloudFront::Distribution"]
    assert len(distributions) == 1, "exactly one CloudFront distribution"
    config: dict[str, Any] = distributions[0]["Properties"]["DistributionConfig"]
    return config


def behavior_for(path: str) -> dict[str, Any]:
    """The cache behavior CloudFront picks for `path`: the first matching pattern, else the default."""
    config = distribution_config()
    for behavior in config.get("CacheBehaviors", []):
        if path_pattern_matches(behavior["PathPattern"], path):
            matched: dict[str, Any] = behavior
            return matched
    default: dict[str, Any] = config["DefaultCacheBehavior"]
    return default


def origin_destination(origin_id: str) -> str:
    """What an origin points at: a function folder name (via its function URL) or SITE for the bucket."""
    origins = [o for o in distribution_config()["Origins"] if o["Id"] == origin_id]
    assert len(origins) == 1, f"origin {origin_id!r} is defined exactly once"
    origin = origins[0]
    if "S3OriginConfig" in origin:
        assert origin["DomainName"] == {"Fn::GetAtt": ["SiteBucket", "RegionalDomainName"]}
        return SITE
    # DomainName: !Select [2, !Split ["/", !GetAtt <Function>Url.FunctionUrl]] (https://HOST/ -> HOST)
    select = origin["DomainName"]["Fn::Select"]
    assert select[0] == 2
    separator, url = select[1]["Fn::Split"]
    assert separator == "/"
    url_id, attribute = url["Fn::GetAtt"]
    assert attribute == "FunctionUrl"
    function_id = url_id.removesuffix("Url")  # SAM names a function's URL resource <Function>Url
    for name, (logical_id, properties) in functions_by_name().items():
        if logical_id == function_id and "FunctionUrlConfig" in properties:
            return name
    raise AssertionError(f"origin {origin_id!r} points at {url_id}, which is no function's URL")


def destination_of(path: str) -> str:
    return origin_destination(behavior_for(path)["TargetOriginId"])


def sample_path(route_path: str) -> str:
    """A concrete request path for a route: every `{param}` segment gets a sample value."""
    return re.sub(r"\{[^}/]+\}", SAMPLE_PATH_PARAMETER, route_path)


def api_routes(module: ModuleType) -> Iterator[APIRoute]:
    for router in module.ROUTERS:
        for route in router.routes:
            if isinstance(route, APIRoute):
                yield route


def unconditional(value: Any) -> list[Any]:
    """Both branches of an Fn::If (minus AWS::NoValue), or the value itself."""
    if isinstance(value, dict) and "Fn::If" in value:
        _, when_true, when_false = value["Fn::If"]
        return [branch for branch in (when_true, when_false) if branch != NO_VALUE]
    return [value]


def policy_statements(properties: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every IAM statement a function's Policies can grant, following Refs to managed policies."""
    for entry in properties.get("Policies", []):
        for policy in unconditional(entry):
            if isinstance(policy, dict) and set(policy) == {"Ref"}:
                managed = resources()[policy["Ref"]]
                assert managed["Type"] == "AWS::IAM::ManagedPolicy"
                document = managed["Properties"]["PolicyDocument"]
            else:
                assert isinstance(policy, dict) and "Statement" in policy, (
                    f"policy {policy!r} must be an inline document or a template ManagedPolicy, "
                    "not an AWS managed policy we cannot inspect"
                )
                document = policy
            for statement in document["Statement"]:
                yield from unconditional(statement)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- (a) the template and functions/ describe the same functions --------------------------------


@pytest.mark.parametrize("name", sorted(functions_by_name()))
def test_template_function_points_at_a_handler_module(name: str) -> None:
    # Given a function declared in the template
    properties = function_properties(name)

    # Then its code folder holds handler.py with `handler`, and carries no requirements of its own
    assert properties["CodeUri"] == f"functions/{name}/"
    assert properties["Handler"] == "handler.handler"
    assert (FUNCTIONS_DIR / name / "handler.py").is_file()
    assert not (FUNCTIONS_DIR / name / "requirements.txt").exists(), "requirements belong in the layer"
    assert callable(import_handler(name).handler)


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_every_handler_module_is_deployed(name: str) -> None:
    # Given a functions/<name>/handler.py in the repository
    # When the template's functions are listed
    deployed = functions_by_name()

    # Then one of them runs it
    assert name in deployed


def test_every_function_gets_the_shared_layer_built_by_make() -> None:
    # Given the template's globals and its layer
    template = load_template()
    layer = resources()["SharedLayer"]

    # Then every function runs python3.12 on arm64 with the one layer, built by infra/layer/Makefile
    function_globals = template["Globals"]["Function"]
    assert function_globals["Runtime"] == "python3.12"
    assert function_globals["Architectures"] == ["arm64"]
    assert function_globals["Layers"] == [{"Ref": "SharedLayer"}]
    assert all("Layers" not in function_properties(name) for name in functions_by_name())
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
    makefile = ROOT / layer["Properties"]["ContentUri"] / "Makefile"
    assert re.search(r"^build-SharedLayer:", makefile.read_text(), re.MULTILINE)


# --- (b) CloudFront sends every route to its own function ---------------------------------------


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("/v1/widgets/*/messages*", "/v1/widgets/a/messages/b/feedback", True),
        ("/v1/widgets/*/config", "/v1/widgets/a/b/config", True),
        ("/v1/widgets/*/config", "/v1/widgets/a/config/x", False),
        ("/v1/auth/*", "/v1/auth", False),
        ("/v?/auth/*", "/v1/auth/me", True),
        ("/v?/auth/*", "/v12/auth/me", False),
    ],
)
def test_path_patterns_follow_cloudfront_rules(pattern: str, path: str, matches: bool) -> None:
    # Given a CloudFront path pattern and a request path
    # When they are matched
    # Then `*` spans any characters including `/`, and `?` exactly one
    assert path_pattern_matches(pattern, path) is matches


@pytest.mark.parametrize("name", [name for name in FUNCTION_NAMES if name not in SCHEDULES])
def test_every_route_of_a_function_reaches_that_function(name: str) -> None:
    # Given the routes an HTTP function's app serves
    routes = list(api_routes(import_handler(name)))

    for route in routes:
        # When CloudFront picks the behavior for a request to the route
        path = sample_path(route.path)
        behavior = behavior_for(path)

        # Then it forwards to this function's URL, and lets the route's methods through
        assert destination_of(path) == name, f"{route.path} goes to {destination_of(path)}, not {name}"
        assert (route.methods or set()) <= set(behavior["AllowedMethods"])


@pytest.mark.parametrize(
    ("path", "destination"),
    [
        ("/v1/widgets/w/config", "widget_config"),
        ("/v1/widgets/w/sessions", "widget_config"),
        ("/v1/widgets/w/demo", "widget_config"),
        ("/v1/widgets/w/messages", "chat"),
        ("/v1/widgets/w/messages/m/feedback", "chat"),
        ("/v1/auth/login", "auth"),
        ("/v1/auth/me", "auth"),
        ("/v1/admin/clients", "admin"),
        ("/v1/admin/widgets/w/rotate-secret", "admin"),
        ("/v1/admin/chat-logs/bulk-delete", "admin"),
        ("/v1/analytics/widgets", "analytics"),
        ("/v1/analytics/clients/c", "analytics"),
        ("/widget.js", SITE),
        ("/index.html", SITE),
        ("/", SITE),
        ("/assets/app.js", SITE),
    ],
)
def test_platform_paths_reach_the_right_origin(path: str, destination: str) -> None:
    # Given a path of the platform's URL layout (DESIGN.md), implemented yet or not
    # When CloudFront routes a request for it
    # Then it reaches the function that owns it, or the site bucket
    assert destination_of(path) == destination


def test_function_behaviors_never_cache_and_forward_the_whole_request() -> None:
    # Given the distribution's behaviors that end at a function
    config = distribution_config()
    function_behaviors = [
        b for b in config["CacheBehaviors"] if origin_destination(b["TargetOriginId"]) != SITE
    ]

    # Then each allows every method, caches nothing and forwards everything but Host, over https
    assert function_behaviors
    for behavior in function_behaviors:
        assert set(behavior["AllowedMethods"]) == ALL_METHODS
        assert behavior["CachePolicyId"] == CACHING_DISABLED
        assert behavior["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER
        assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
        assert behavior["Compress"] is True
    for origin in config["Origins"]:
        if "CustomOriginConfig" in origin:
            assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert origin_destination(config["DefaultCacheBehavior"]["TargetOriginId"]) == SITE


# --- (c) HTTP functions have URLs, jobs have schedules -------------------------------------------


def test_the_functions_without_an_app_are_the_scheduled_jobs() -> None:
    # Given every function's handler module
    # When those without a FastAPI app are picked out
    jobs = {name for name in FUNCTION_NAMES if not is_http_function(name)}

    # Then they are exactly the jobs DESIGN.md schedules
    assert jobs == set(SCHEDULES)


@pytest.mark.parametrize(("name", "rate"), sorted(SCHEDULES.items()))
def test_scheduled_function_runs_on_its_rate_without_a_url(name: str, rate: str) -> None:
    # Given a scheduled job's function
    properties = function_properties(name)

    # Then EventBridge invokes it at the DESIGN.md rate, and nothing else can reach it
    schedules = [
        e["Properties"]["Schedule"] for e in properties["Events"].values() if e["Type"] == "Schedule"
    ]
    assert schedules == [rate]
    assert "FunctionUrlConfig" not in properties


@pytest.mark.parametrize("name", [name for name in FUNCTION_NAMES if name not in SCHEDULES])
def test_http_function_has_a_public_url_and_no_schedule(name: str) -> None:
    # Given an HTTP function
    properties = function_properties(name)

    # Then it is reached through its function URL (authentication is the app's), never on a schedule
    assert properties["FunctionUrlConfig"] == {"AuthType": "NONE"}
    assert "Events" not in properties


def test_every_function_origin_proves_the_request_came_through_cloudfront() -> None:
    # Given the distribution's origins that are function URLs
    function_origins = [o for o in distribution_config()["Origins"] if "CustomOriginConfig" in o]
    assert len(function_origins) == len([n for n in FUNCTION_NAMES if n not in SCHEDULES])
    # Then each sends the X-Origin-Verify value that the functions read from the same SSM parameter
    expected = [
        {
            "HeaderName": "X-Origin-Verify",
            "HeaderValue": {"Fn::Sub": "{{resolve:ssm:${OriginVerifySsmParameter}}}"},
        }
    ]
    for origin in function_origins:
        assert origin["OriginCustomHeaders"] == expected, origin["Id"]
    variables = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["ORIGIN_VERIFY_SECRET_SSM_PARAMETER"] == {"Ref": "OriginVerifySsmParameter"}


# --- (d) logs with retention, least-privilege policies ------------------------------------------


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_function_logs_to_its_own_log_group_with_retention(name: str) -> None:
    # Given a function and the log group its logging config names
    properties = function_properties(name)
    log_group = resources()[properties["LoggingConfig"]["LogGroup"]["Ref"]]

    # Then the group is the function's conventional /aws/lambda/<FunctionName> and expires its logs
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["RetentionInDays"]
    function_name = properties["FunctionName"]["Fn::Sub"]
    assert log_group["Properties"]["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/{function_name}"}


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_function_policies_name_every_resource(name: str) -> None:
    # Given every statement a function's policies can grant
    statements = list(policy_statements(function_properties(name)))

    # Then none grants on `*` or with a wildcard action, and SSM reads only the three platform secrets
    assert statements
    for statement in statements:
        assert "*" not in as_list(statement["Resource"]), f"{name}: {statement.get('Sid')} grants on *"
        assert not any(action == "*" or action.endswith(":*") for action in as_list(statement["Action"]))
        if any(action.startswith("ssm:") for action in as_list(statement["Action"])):
            assert as_list(statement["Action"]) == ["ssm:GetParameters"]
            parameters = sorted(
                re.findall(r"\$\{(\w+SsmParameter)\}", resource["Fn::Sub"])[0]
                for resource in as_list(statement["Resource"])
            )
            assert parameters == [
                "DatabaseUrlSsmParameter",
                "OriginVerifySsmParameter",
                "SigningKeySsmParameter",
            ]


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_only_alerting_functions_may_send_alerts(name: str) -> None:
    # Given the actions a function's policies can grant
    actions = {
        action
        for statement in policy_statements(function_properties(name))
        for action in as_list(statement["Action"])
    }

    # Then only webhook_check (health changes), chat (failed messages in a row mark a widget failing)
    # and admin (webhook test on save) may email or publish
    may_alert = name in {"webhook_check", "chat", "admin"}
    assert ({"ses:SendEmail", "sns:Publish"} <= actions) is may_alert
    assert bool(actions & {"ses:SendEmail", "sns:Publish"}) is may_alert


def test_no_function_is_traced_with_x_ray() -> None:
    # Given the template's function globals, every function and the code they run
    function_globals = load_template()["Globals"]["Function"]
    sources = [*(ROOT / "shared").rglob("*.py"), *FUNCTIONS_DIR.rglob("*.py")]

    # Then X-Ray is off (README "Observability": a tracer would import aws_xray_sdk into every cold
    # start, for spans nobody reads), nothing grants writing to it, and no code makes spans
    assert "Tracing" not in function_globals
    for name in FUNCTION_NAMES:
        properties = function_properties(name)
        assert properties.get("Tracing", "PassThrough") == "PassThrough", name
        actions = [
            action for statement in policy_statements(properties) for action in as_list(statement["Action"])
        ]
        assert not [action for action in actions if action.lower().startswith("xray:")], name
    assert not [path for path in sources if re.search(r"\bTracer\b|aws_xray_sdk", path.read_text())]


# --- (f) every job fails somewhere visible: dead-letter destination, alarms ---------------------

PERIOD_SECONDS = {"rate(1 hour)": 3600, "rate(15 minutes)": 900}


def alarms() -> dict[str, dict[str, Any]]:
    return {
        key: resource["Properties"]
        for key, resource in resources().items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }


def dimensions(alarm: dict[str, Any]) -> dict[str, Any]:
    return {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}


@pytest.mark.parametrize(("name", "rate"), sorted(SCHEDULES.items()))
def test_a_failed_job_run_goes_to_the_dead_letter_queue_and_is_not_retried(name: str, rate: str) -> None:
    # Given a scheduled job's asynchronous invocation settings
    config = function_properties(name)["EventInvokeConfig"]

    # Then a failed run is not retried (the job is idempotent; its next run picks up the rest), an
    # event never waits longer than one period, and a failure lands in the jobs' dead-letter queue
    assert config["MaximumRetryAttempts"] == 0
    assert config["MaximumEventAgeInSeconds"] == PERIOD_SECONDS[rate]
    assert config["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS",
        "Destination": {"Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]},
    }
    assert resources()["JobsDeadLetterQueue"]["Type"] == "AWS::SQS::Queue"


@pytest.mark.parametrize(("name", "rate"), sorted(SCHEDULES.items()))
def test_a_job_has_an_errors_alarm_and_a_no_successful_run_alarm(name: str, rate: str) -> None:
    # Given the template's alarms and the job's function resource
    key, _ = functions_by_name()[name]
    period = PERIOD_SECONDS[rate]
    variables = load_template()["Globals"]["Function"]["Environment"]["Variables"]

    # Then one alarm fires on any error of the function within a period
    [errors] = [a for a in alarms().values() if dimensions(a) == {"FunctionName": {"Ref": key}}]
    assert (errors["Namespace"], errors["MetricName"], errors["Statistic"]) == ("AWS/Lambda", "Errors", "Sum")
    assert errors["Period"] == period and errors["Threshold"] == 1
    assert errors["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    # and one when the runner's JobSucceeded metric (shared/jobs.py: dimensions service and Job) is
    # missing for two periods in a row: no data counts as no success
    [silent] = [a for a in alarms().values() if dimensions(a).get("Job") == name]
    assert silent["Namespace"] == variables["POWERTOOLS_METRICS_NAMESPACE"]
    assert silent["MetricName"] == "JobSucceeded"
    assert dimensions(silent) == {"service": variables["POWERTOOLS_SERVICE_NAME"], "Job": name}
    assert silent["Period"] == period and silent["EvaluationPeriods"] == 2
    assert silent["ComparisonOperator"] == "LessThanThreshold" and silent["Threshold"] == 1
    assert silent["TreatMissingData"] == "breaching"


def test_the_jobs_dead_letter_queue_is_watched() -> None:
    # Given the alarms on the dead-letter queue
    watching = [
        a
        for a in alarms().values()
        if dimensions(a) == {"QueueName": {"Fn::GetAtt": ["JobsDeadLetterQueue", "QueueName"]}}
    ]
    # Then a message waiting there raises one
    [alarm] = watching
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible" and alarm["Threshold"] == 1
