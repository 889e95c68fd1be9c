"""Agent-side compliance: what an agent must never do, each finding with its turn and words.

The customer's risk is ``pipeline.risk``; this is the other side of the call. A compliance
officer wants to see every call where the agent

- ``remote_access``: asks the customer to install remote-control software or lets the agent
  operate the customer's device remotely (向日葵, TeamViewer, AnyDesk, "我们远程帮您查看");
- ``credentials``: asks for a password, a verification code, a CVV or a PIN ("请私信提供您的
  服务密码", "tell me the code we sent you"), where typing it into the app or site is routine;
- ``personal_payment``: asks for payment into a personal account or outside the platform
  (转到我个人账户, 加我微信转账, "pay to my own PayPal");
- ``tax_evasion``: advises how to avoid tax or customs duty (不开发票便宜, 申报价值写低,
  礼品报关, "declare it as a gift").

Each finding is a flag for review, not a fine: the wording is the agent's; a person decides.
A warning is not a finding ("请勿将验证码告诉他人", "we will never ask for your password"):
a negation earlier in the same clause cancels it. When the roles are not known every turn may
be the agent's, and the finding says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from pipeline.conversation import Roles
from pipeline.rubric.conditions import Evidence, evidence_time

Category = Literal["remote_access", "credentials", "personal_payment", "tax_evasion"]
CATEGORIES: tuple[Category, ...] = ("remote_access", "credentials", "personal_payment",
                                    "tax_evasion")
_ZH_CLAUSE = r"[^，。！？；,.!?;\n]"


@dataclass(frozen=True)
class ComplianceRule:
    id: str
    category: Category
    pattern: re.Pattern[str]
    description: str


def _rule(rule_id: str, category: Category, pattern: str, description: str) -> ComplianceRule:
    return ComplianceRule(rule_id, category, re.compile(pattern, re.IGNORECASE), description)


RULES: tuple[ComplianceRule, ...] = (
    _rule("zh-remote-software", "remote_access",
          rf"(?:下载|安装|打开|使用|装一?下){_ZH_CLAUSE}{{0,8}}(?:向日葵|teamviewer|anydesk|todesk|"
          r"quicksupport|远程(?:控制|协助|桌面)?(?:软件|工具|app)|屏幕共享|共享屏幕)",
          "asks the customer to install remote-access software"),
    _rule("zh-remote-operate", "remote_access",
          rf"(?:帮您|为您|给您|帮你|我们|我){_ZH_CLAUSE}{{0,6}}远程(?:查看|操作|控制|协助|处理|看|连接)"
          r"|远程(?:帮您|为您|给您|帮你)|共享(?:一下)?(?:您|你)的屏幕",
          "offers to operate the customer's device remotely"),
    _rule("zh-credentials", "credentials",
          rf"(?:提供|告诉|告知|报给|报一下|发给|发一下|念一下|说一下|给我|私信){_ZH_CLAUSE}{{0,10}}"
          r"(?:密码|验证码|校验码|动态码|安全码|cvv)"
          r"|(?:密码|验证码|校验码|动态码)(?:是多少|发给我|告诉我|报给我|发我|报一下)",
          "asks for a password or verification code"),
    _rule("zh-personal-account", "personal_payment",
          r"(?:转|付|打|汇)(?:款|账|钱)?(?:到|给|进)?(?:我|我的)(?:个人|私人)?(?:账户|账号|银行卡|卡|微信|支付宝)"
          rf"|(?:转|付|汇|打|支付){_ZH_CLAUSE}{{0,8}}(?:个人|私人)(?:账户|账号|银行卡|收款码)"
          r"|私下(?:转账|付款|交易|支付)"
          r"|加(?:我|一下我)的?(?:个人|私人)?微信.{0,10}(?:转|付|支付)|扫(?:我|我的)(?:个人)?(?:收款)?码",
          "asks for payment to a personal account or outside the platform"),
    _rule("zh-tax", "tax_evasion",
          rf"不开(?:发)?票{_ZH_CLAUSE}{{0,6}}(?:便宜|优惠|少|省)|避税|逃税|偷税|漏税"
          rf"|(?:少报|低报|瞒报)(?:关税|价值|价格|申报)?|申报(?:价值|价格|金额){_ZH_CLAUSE}{{0,6}}"
          r"(?:写低|改低|报低|少写)|(?:写成|报成|当作|按)礼品(?:申报|报关|寄)|不走(?:海关|报关)"
          r"|拆单(?:避|逃|免)税|走私",
          "advises how to avoid tax or customs duty"),
    _rule("en-remote", "remote_access",
          r"\b(?:download|install|open)\s+(?:\w+\s+){0,3}(?:teamviewer|anydesk|quicksupport|"
          r"remote[- ](?:access|desktop|control))|\bshare your screen\b"
          r"|\b(?:help|check|fix|access|control)\s+(?:\w+\s+){0,3}remotely\b"
          r"|\bremote(?:ly)?\s+(?:access|control)\s+(?:to\s+)?your\b",
          "asks for remote access to the customer's device"),
    _rule("en-credentials", "credentials",
          r"\b(?:tell|give|send|read|provide|share)\s+(?:me\s+|us\s+)?(?:with\s+)?(?:your|the)\s+"
          r"(?:[\w-]+\s+){0,4}?"
          r"(?:password|pin|verification code|one-time code|otp|cvv|security code)\b"
          r"|\bwhat(?:'s| is) your (?:\w+\s+)?(?:password|pin|verification code|otp|cvv)\b",
          "asks for a password or verification code"),
    _rule("en-personal-account", "personal_payment",
          r"\b(?:pay|transfer|send)\s+(?:\w+\s+){0,3}(?:to|into)\s+my\s+(?:own\s+|personal\s+|"
          r"private\s+)?(?:account|bank|paypal|wallet|card)\b|\bpersonal (?:bank )?account\b"
          r"|\boutside (?:of )?the platform\b",
          "asks for payment to a personal account or outside the platform"),
    _rule("en-tax", "tax_evasion",
          r"\b(?:avoid|evade|dodge|skip)\s+(?:paying\s+)?(?:the\s+)?(?:tax|taxes|customs|duty|"
          r"duties|vat)\b|\bunder-?declare\b|\bundervalue\b|\bdeclare (?:it|them) as a gift\b"
          r"|\bmark (?:it|the parcel|the package) as a gift\b|\blower the declared value\b",
          "advises how to avoid tax or customs duty"),
)
# A warning, not a request: 请勿/不要 … 验证码, "we will never ask for …".
_NEGATION = re.compile(
    r"不要|请勿|切勿|勿|千万别|别|不会|绝不|从不|不得|禁止|谨防|警惕|防止|以免|不可以|不能|严禁|谨记"
    r"|\b(?:never|do not|don't|won't|will not|beware|must not|should not|not ask)\b",
    re.IGNORECASE)
_CLAUSE_END = re.compile(r"[，。！？；,.!?;\n]")
# Turns that may be the agent's: an ``unknown`` one may be (mono); a bot's lines are the
# platform's, not an agent's.
AGENT_SIDE = ("agent", "unknown")


@dataclass(frozen=True)
class ComplianceFinding:
    rule_id: str
    category: Category
    description: str
    evidence: Evidence

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule_id, "category": self.category,
                "description": self.description, "evidence": [self.evidence.as_dict()]}


def _warned(text: str, start: int) -> bool:
    """A negation earlier in the clause the match starts in."""
    clause_start = max((m.end() for m in _CLAUSE_END.finditer(text, 0, start)), default=0)
    return _NEGATION.search(text, clause_start, start) is not None


def findings(turns: pd.DataFrame, roles: Roles = "known") -> list[ComplianceFinding]:
    """Every rule that matches an agent turn (any turn but the customer's and a bot's when the
    roles are not known), at most one finding per (rule, turn)."""
    sides = ("agent",) if roles == "known" else AGENT_SIDE
    out = []
    for row in turns.itertuples(index=False):
        if row.speaker not in sides:
            continue
        text = str(row.raw_text)
        for rule in RULES:
            match = next((m for m in rule.pattern.finditer(text)
                          if not _warned(text, m.start())), None)
            if match is None:
                continue
            unsure = "" if row.speaker == "agent" else " (speaker not known: may be the customer)"
            why = f"{rule.description}: “{match.group(0)}”{unsure}"
            out.append(ComplianceFinding(rule.id, rule.category, rule.description, Evidence(
                int(row.idx), evidence_time(row.start), evidence_time(row.end), text, why)))
    return out


def flags(found: list[ComplianceFinding]) -> list[str]:
    """``compliance:<category>`` once per category found, in the order of ``CATEGORIES``."""
    seen = {f.category for f in found}
    return [f"compliance:{c}" for c in CATEGORIES if c in seen]

