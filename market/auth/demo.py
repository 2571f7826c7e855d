"""Demo users, one or more per role. The password for all of them is in the README."""

from __future__ import annotations

from sqlalchemy import select

from market.demo import DEMO_PASSWORD
from market.extensions import db
from models.users import Role, User

from .passwords import hash_password

# email, name, role, organisation ref
DEMO_USERS = [
    ("admin@ccxq.gov.cn", "王主任", Role.DISTRICT_ADMIN, "GOV1"),
    ("reviewer@ccxq.gov.cn", "李审核", Role.DISTRICT_REVIEWER, "GOV1"),
    ("data@ccxq.gov.cn", "赵数据", Role.ORG_ADMIN, "GOV2"),
    ("admin@guanghua-med.cn", "张总监", Role.ORG_ADMIN, "L1"),
    ("staff@guanghua-med.cn", "陈工程师", Role.PROVIDER_MEMBER, "L1"),
    ("admin@xingwang-sat.cn", "周经理", Role.ORG_ADMIN, "L2"),
    ("admin@ccxq-zhizao.cn", "吴部长", Role.ORG_ADMIN, "L3"),
    ("lab@jlxq-univ.edu.cn", "刘教授", Role.ORG_ADMIN, "U1"),
    ("tech@jlxq-univ.edu.cn", "孙老师", Role.PROVIDER_MEMBER, "U1"),
    ("admin@ccopt-inst.ac.cn", "郑研究员", Role.ORG_ADMIN, "I1"),
    ("ceo@huiyi-health.cn", "黄总", Role.ORG_ADMIN, "S1"),
    ("dev@huiyi-health.cn", "林工", Role.SME_MEMBER, "S1"),
    ("ceo@weina-mat.cn", "何总", Role.ORG_ADMIN, "S2"),
    ("ceo@beidou-st.cn", "马总", Role.ORG_ADMIN, "S3"),
    ("ceo@ghmed-sales.cn", "高经理", Role.ORG_ADMIN, "S4"),
    ("ceo@yuanhang-its.cn", "罗总", Role.ORG_ADMIN, "S5"),
    ("ceo@xinchuang-bio.cn", "谢总", Role.ORG_ADMIN, "S6"),
]


def load(world) -> None:
    password_hash = hash_password(DEMO_PASSWORD)
    for email, name, role, org_ref in DEMO_USERS:
        user = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
        if user is None:
            user = User(email=email, password_hash=password_hash)
            db.session.add(user)
        user.name, user.role, user.organisation = name, role, world.orgs[org_ref]
        world.users[email] = user
    db.session.flush()
    world.summary.append(f"users: {len(DEMO_USERS)} (password {DEMO_PASSWORD})")
