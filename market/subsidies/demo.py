"""The subsidy feature's demo data: the claims workflow (``claims_demo``), then reward decisions.

Reward decisions (issue 10, POLICY.md interpretation 7): the art. 8 one-time reward of L1, the
art. 9 tier of the events demo's graded project (handed off, then decided), a second project handed off
and waiting for the reviewer, and an art. 13 public-data project award. Idempotent: each step runs only
when its result is not there yet."""

from __future__ import annotations

from sqlalchemy import select

from market.extensions import db
from models.events import DeclarationStatus, DemoDeclaration
from models.listings import Listing, ListingKind
from models.rewards import RewardDecision, RewardStatus

from . import rewards


def load(world) -> None:
    from . import claims_demo

    claims_demo.load(world)
    _load_rewards(world)


def _load_rewards(world) -> None:
    users = world.users
    reviewer, admin = users.get("reviewer@ccxq.gov.cn"), users.get("admin@ccxq.gov.cn")
    if reviewer is None or admin is None or not {"L1", "L2", "S3"} <= set(world.orgs):
        return
    done = []
    l1 = world.orgs["L1"]
    if rewards.live_opener(l1.id) is None:
        rewards.decide_opener(reviewer, l1, "800000.00",
                              "面向区内中小微企业开放医学影像、药物研发等场景，带动多家企业承接项目并完成交易，评定奖励80万元。")
        done.append("art8_opener")

    from market.events import services as events

    decls = db.session.execute(select(DemoDeclaration).order_by(DemoDeclaration.id)).scalars().all()
    first = decls[0] if decls else None
    if first is not None and first.status == DeclarationStatus.GRADED and first.proposed_tier:
        events.hand_off(admin, first)
    if first is not None and first.status == DeclarationStatus.HANDED_OFF:
        rewards.decide_demo(reviewer, first, first.proposed_tier,
                            "评分与建议档次一致：技术成熟，已在两家医院落地，按建议档次审定。")
        done.append("art9_demo")

    # a second project, handed off and waiting for the reviewer (the browser path)
    l2_admin = users.get("admin@xingwang-sat.cn")
    scenario = db.session.execute(select(Listing).where(Listing.owner_id == world.orgs["L2"].id,
                                                        Listing.kind == ListingKind.SCENARIO)
                                  .order_by(Listing.id)).scalars().first()
    if l2_admin is not None and scenario is not None and len(decls) < 2:
        decl = events.declare(l2_admin, "卫星通信应急保障示范工程", "在新区应急指挥中心部署卫星通信备份链路，覆盖十个街道。",
                              listing_id=scenario.id)
        events.grade(reviewer, decl, {"innovation": 22, "demonstration": 22, "replicability": 14, "scale": 14},
                     "链路稳定，推广价值较好。")
        events.hand_off(admin, decl)

    s3 = world.orgs["S3"]
    has_data = db.session.execute(select(RewardDecision.id).where(
        RewardDecision.rule == "art13_data", RewardDecision.organisation_id == s3.id,
        RewardDecision.status == RewardStatus.DECIDED)).first()
    if has_data is None:
        rewards.decide_data(reviewer, s3, "交通公共数据增值开发：公交到站时间预测服务", "200000.00",
                            "授权应用交通公共数据，绩效评价良好：服务覆盖新区全部公交线路，预测误差小于1分钟。")
        done.append("art13_data")
    world.summary.append(f"subsidies: reward decisions added: {', '.join(done) or 'none (already there)'}")
