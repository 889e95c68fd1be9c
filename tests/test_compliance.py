"""Agent-side compliance findings: requests an agent must never make, warnings that are not."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.compliance import findings, flags


def _turns(*rows: tuple[str, str]) -> pd.DataFrame:
    return pd.DataFrame([{"idx": i, "speaker": who, "raw_text": text, "start": float(i),
                          "end": i + 0.5} for i, (who, text) in enumerate(rows)])


@pytest.mark.parametrize(("text", "category"), [
    # real agent turns from STC-3
    ("如方便,烦请私信提供您的手机号码和服务密码,以便小沃为您核实,谢谢！", "credentials"),
    ("请您以私信的方式提供您的手机服务密码,我部为您派相关部门核查", "credentials"),
    ("麻烦您添加一下我们的客服QQ,我们远程帮您查看一下这个问题可以吗？", "remote_access"),
    ("please provide your telephone number and service password via private message",
     "credentials"),
    ("We will help you check the problem remotely.", "remote_access"),
    ("您先下载一个向日葵，我这边帮您操作", "remote_access"),
    ("验证码是多少？您念一下", "credentials"),
    ("您直接转到我个人账户上，这样快一点", "personal_payment"),
    ("加我微信，直接微信转给我就行", "personal_payment"),
    ("申报价值我们帮您写低一点，关税就少了", "tax_evasion"),
    ("我们按礼品报关，不用交税", "tax_evasion"),
    ("Just pay the balance to my personal PayPal account.", "personal_payment"),
    ("We can declare it as a gift so you skip the customs duty.", "tax_evasion"),
])
def test_an_agent_request_is_a_finding_with_its_words(text: str, category: str) -> None:
    found = findings(_turns(("customer", "你好"), ("agent", text)))
    assert [f.category for f in found][:1] == [category]
    evidence = found[0].evidence
    assert evidence.idx == 1 and evidence.start == 1.0 and evidence.text == text
    assert "“" in evidence.why
    assert flags(found)[0] == f"compliance:{category}"


@pytest.mark.parametrize("text", [
    # real agent turns that mention the words without asking for anything
    "您可以关注并关联“中国电信上海客服”,点击菜单 “我”-“报障&宽带密码”,进行自助报修！",
    "您说的是什么密码呢？ 是浏览器的密码还是您使用的软件的密码呢？",
    "方便可以私信提供一下您使用的手机号,及对方发送验证码的时间及短信代码,以便小编核查.",
    "为了您的一个个人账户隐私安全的女士您方便跟我说一下",
    "您可使用手机号码、服务密码登陆网上营业厅点击自己的手机号码",
    "因为硬件问题远程能帮到您的确实有限,还是建议您到授权的维修网点进行检修",
    # warnings
    "请勿将验证码告诉任何人，包括客服人员",
    "我们不会要求您提供密码",
    "切勿转账到个人账户",
    "We will never ask you to tell us your password.",
    "Do not share your verification code with anyone.",
])
def test_mentions_and_warnings_are_not_findings(text: str) -> None:
    assert findings(_turns(("agent", text))) == []


def test_only_the_agent_side_counts_and_unknown_roles_say_so() -> None:
    text = "你把验证码告诉我，我帮你查"
    assert findings(_turns(("customer", text), ("bot", text))) == []
    unknown = findings(_turns(("unknown", text)), roles="unknown")
    assert len(unknown) == 1 and "speaker not known" in unknown[0].evidence.why
    assert findings(_turns(("unknown", text)), roles="known") == []


def test_flags_are_one_per_category_in_a_fixed_order() -> None:
    found = findings(_turns(("agent", "转到我个人账户"), ("agent", "验证码告诉我"),
                            ("agent", "转到我的支付宝")))
    assert flags(found) == ["compliance:credentials", "compliance:personal_payment"]
