"""cloud-sync on a real 9router: disabled, or enabled on a server that no longer has the endpoint."""

from smoke.checks.cloud_sync import REMOVED
from tests.gate import run_gate, stack_args


def test_disabled_cloud_sync_is_a_skip(router_stack, out_dir):
    result = run_gate(out_dir, *stack_args(router_stack))
    assert result.status("cloud-sync") == "skip"
    assert "cloudEnabled" in result.check("cloud-sync")["message"]


def test_enabled_cloud_sync_on_a_server_without_the_endpoint_is_a_skip_saying_so(fresh_stack, out_dir):
    stack = fresh_stack()
    stack.admin.patch_settings(cloudEnabled=True)  # vestigial flag: the route was removed in 0.2.80
    result = run_gate(out_dir, *stack_args(stack))
    check = result.check("cloud-sync")
    assert check["status"] == "skip"
    assert check["message"] == REMOVED
    assert check["evidence"]["status"] == 404
