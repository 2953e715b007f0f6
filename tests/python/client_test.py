#!/usr/bin/env python3
"""A Python gRPC client against a running `letting serve`, as a third party would write it.

Generates the letting.v1 stubs from proto/ at run time with grpc_tools.protoc (no protoc
binary needed), then checks the health service and reflection (both without a key) and a
letting flow with the keys given. Exits non-zero on the first failure.

    pip install -r tests/python/requirements.txt
    python3 tests/python/client_test.py --address 127.0.0.1:50051 \
        --municipality-key lr_... --org-key lr_...   # the org key is KAB's ("organisation:kab")
"""

import argparse
import glob
import importlib
import os
import sys
import tempfile
import uuid

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_tools import protoc
from google.protobuf import descriptor_pb2

LETTING_SERVICES = {
    "letting.v1.HousingOrganisationService",
    "letting.v1.MunicipalityService",
    "letting.v1.RegistryService",
}

CHECKS = []


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    CHECKS.append(what)


def expect_error(code, call, what):
    try:
        call()
    except grpc.RpcError as e:
        check(e.code() == code, f"{what}: {code.name} (got {e.code().name}: {e.details()})")
        return e
    raise AssertionError(f"{what}: expected {code.name}, the call succeeded")


def generate_stubs(proto_dir, out_dir):
    """Compiles every .proto under proto_dir into out_dir and imports the letting.v1 modules."""
    files = sorted(
        os.path.relpath(p, proto_dir)
        for p in glob.glob(os.path.join(proto_dir, "**", "*.proto"), recursive=True)
    )
    if not files:
        raise AssertionError(f"no .proto files under {proto_dir}")
    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    status = protoc.main(
        [
            "grpc_tools.protoc",
            f"-I{proto_dir}",
            f"-I{include}",
            f"--python_out={out_dir}",
            f"--grpc_python_out={out_dir}",
            *files,
        ]
    )
    if status != 0:
        raise AssertionError(f"grpc_tools.protoc failed with {status}")
    sys.path.insert(0, out_dir)
    names = ["common_pb2", "housing_pb2", "housing_pb2_grpc", "municipality_pb2",
             "municipality_pb2_grpc", "registry_pb2", "registry_pb2_grpc"]
    return {n: importlib.import_module(f"letting.v1.{n}") for n in names}


def list_services(channel, method):
    """ListServices over a reflection endpoint (v1 and v1alpha have the same messages)."""
    call = channel.stream_stream(
        method,
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    answers = list(call(iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
                        timeout=10))
    check(len(answers) == 1, f"{method}: one answer")
    return {s.name for s in answers[0].list_services_response.service}


def check_health_and_reflection(channel):
    health = health_pb2_grpc.HealthStub(channel)
    for service in [""] + sorted(LETTING_SERVICES):
        answer = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
        check(answer.status == health_pb2.HealthCheckResponse.SERVING,
              f"health of '{service}' without a key: SERVING")

    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    answers = list(stub.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10))
    names = {s.name for s in answers[0].list_services_response.service}
    check(LETTING_SERVICES <= names, f"reflection v1alpha lists the letting.v1 services: {names}")

    # The descriptor of a service, by symbol.
    answers = list(stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(
        file_containing_symbol="letting.v1.HousingOrganisationService")]), timeout=10))
    protos = answers[0].file_descriptor_response.file_descriptor_proto
    services = set()
    for raw in protos:
        fd = descriptor_pb2.FileDescriptorProto.FromString(raw)
        services |= {f"{fd.package}.{s.name}" for s in fd.service}
    check("letting.v1.HousingOrganisationService" in services,
          "reflection v1alpha serves the HousingOrganisationService descriptor")

    # v1: the installed grpcio-reflection's own module if it has one, else the v1 method
    # with the wire-identical v1alpha messages.
    try:
        v1 = importlib.import_module("grpc_reflection.v1.reflection_pb2")
        v1_grpc = importlib.import_module("grpc_reflection.v1.reflection_pb2_grpc")
        answers = list(v1_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
            iter([v1.ServerReflectionRequest(list_services="")]), timeout=10))
        names = {s.name for s in answers[0].list_services_response.service}
    except ModuleNotFoundError:
        names = list_services(channel, "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo")
    check(LETTING_SERVICES <= names, f"reflection v1 lists the letting.v1 services: {names}")


def run_flow(channel, pb, municipality_key, org_key):
    common, housing, municipality, registry = (
        pb["common_pb2"], pb["housing_pb2"], pb["municipality_pb2"], pb["registry_pb2"])
    as_municipality = [("authorization", f"Bearer {municipality_key}")]
    as_org = [("authorization", f"Bearer {org_key}")]
    # Eight hex digits can never hold ten decimal digits in a row, which the service refuses
    # in a key as CPR-shaped (twelve would, about once in a hundred runs).
    run = uuid.uuid4().hex[:8]

    def key(name):
        return f"py-{run}-{name}"

    h = pb["housing_pb2_grpc"].HousingOrganisationServiceStub(channel)
    m = pb["municipality_pb2_grpc"].MunicipalityServiceStub(channel)
    r = pb["registry_pb2_grpc"].RegistryServiceStub(channel)

    expect_error(grpc.StatusCode.UNAUTHENTICATED,
                 lambda: h.Ping(housing.PingRequest(), timeout=10), "Ping without a key")

    r.UpsertOrganisation(registry.UpsertOrganisationRequest(
        idempotency_key=key("org"), organisation=registry.Organisation(id="kab", name="KAB")),
        metadata=as_municipality, timeout=10)
    r.UpsertArea(registry.UpsertAreaRequest(
        idempotency_key=key("area"),
        area=registry.Area(id="bispeparken", municipality_code="0101", name="Bispeparken")),
        metadata=as_municipality, timeout=10)
    r.UpsertDepartment(registry.UpsertDepartmentRequest(
        idempotency_key=key("dept"),
        department=registry.Department(id="akb-bispeparken", organisation_id="kab",
                                       area_id="bispeparken", name="Bispeparken",
                                       dwellings=400)),
        metadata=as_municipality, timeout=10)
    listed = r.ListDepartments(registry.ListDepartmentsRequest(), metadata=as_org, timeout=10)
    check([d.id for d in listed.departments] == ["akb-bispeparken"],
          "the organisation lists its department")

    loaded = m.LoadAreaStatistics(municipality.LoadAreaStatisticsRequest(
        idempotency_key=key("stats"), year=2007, effective_date="2007-01-01",
        areas=[municipality.AreaStatistics(area_id="bispeparken", working_age_residents=1000,
                                           without_labour_market_attachment=412,
                                           residents=2000)]),
        metadata=as_municipality, timeout=10)
    check(loaded.areas_loaded == 1, "statistics loaded")
    expect_error(grpc.StatusCode.PERMISSION_DENIED,
                 lambda: m.LoadAreaStatistics(municipality.LoadAreaStatisticsRequest(
                     idempotency_key=key("stats-org"), year=2007,
                     effective_date="2007-01-01",
                     areas=[municipality.AreaStatistics(area_id="bispeparken")]),
                     metadata=as_org, timeout=10),
                 "an organisation loading statistics")

    request = housing.RegisterVacancyRequest(
        idempotency_key=key("vacancy"), department_id="akb-bispeparken",
        vacancy_ref="Bispeparken 3, 2. th.", vacancy_date="2007-03-01")
    vacancy = h.RegisterVacancy(request, metadata=as_org, timeout=10)
    check(vacancy.area_class == "high_risk", f"Bispeparken is high-risk: {vacancy.area_class}")
    check(vacancy.channel == common.LETTING_CHANNEL_FLEXIBLE, "its first vacancy is flexible")
    check(vacancy.explanation.rule_set_id == "dk-2005+kk-2007+kk-aftale-2007",
          "judged by national law and Copenhagen's decisions and agreement")
    check([layer.kind for layer in vacancy.explanation.layers] == ["national", "municipal", "agreement"],
          "the explanation names each layer")
    check(len(vacancy.explanation.rule_set_content_hash) == 64, "with the rule file's hash")
    again = h.RegisterVacancy(request, metadata=as_org, timeout=10)
    check(again == vacancy, "a retry with the same key returns the same response")

    applicant = common.Person(role=common.PERSON_ROLE_APPLICANT, weekly_work_hours="37")
    bad = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT,
        lambda: h.ProposeLetting(housing.ProposeLettingRequest(
            idempotency_key=key("cpr"), vacancy_id=vacancy.vacancy_id,
            household=common.ApplicantHousehold(applicant_ref="010170-1234",
                                                persons=[applicant]),
            proposal_date="2007-03-05"), metadata=as_org, timeout=10),
        "a CPR-shaped reference")
    check("010170" not in (bad.details() or ""), "the CPR-shaped value is not echoed")
    trailers = dict(bad.trailing_metadata() or ())
    check("grpc-status-details-bin" in trailers, "INVALID_ARGUMENT carries status details")

    proposed = h.ProposeLetting(housing.ProposeLettingRequest(
        idempotency_key=key("letting"), vacancy_id=vacancy.vacancy_id,
        household=common.ApplicantHousehold(applicant_ref="py-hh-1", persons=[applicant]),
        proposal_date="2007-03-05"), metadata=as_org, timeout=10)
    check(proposed.outcome == common.LETTING_OUTCOME_APPROVED, "the letting is approved")
    check(proposed.flexible_eligibility == common.FLEXIBLE_ELIGIBILITY_PROVISIONAL,
          "the applicant has provisional flexible priority")
    check(list(proposed.flexible_groups) == ["work"], "through work")

    decision = h.GetDecision(housing.GetDecisionRequest(decision_id=proposed.decision_id),
                             metadata=as_org, timeout=10)
    check(decision.kind == "letting" and decision.outcome == "approved",
          "the decision reads back")
    check(decision.explanation == proposed.explanation, "with the same explanation")
    check(decision.principal == "organisation:kab", "made by the organisation")
    check(decision.subject_id == proposed.letting_id, "about the letting")

    pool = m.GetGrantPool(municipality.GetGrantPoolRequest(year=2007),
                          metadata=as_municipality, timeout=10)
    check(pool.pool_ore == 100_000_000, "the 2007 pool is DKK 1,000,000")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", required=True)
    parser.add_argument("--municipality-key", required=True)
    parser.add_argument("--org-key", required=True, help="KAB's key (organisation:kab)")
    parser.add_argument("--proto-dir", default=os.path.join(here, "..", "..", "proto"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="letting-stubs-") as out:
        pb = generate_stubs(os.path.abspath(args.proto_dir), out)
        with grpc.insecure_channel(args.address) as channel:
            grpc.channel_ready_future(channel).result(timeout=15)
            check_health_and_reflection(channel)
            run_flow(channel, pb, args.municipality_key, args.org_key)
    print(f"python client: {len(CHECKS)} checks passed (grpcio {grpc.__version__})")


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # noqa: BLE001 - any failure fails the test
        print(f"python client: FAILED after {len(CHECKS)} checks: "
              f"{type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)
