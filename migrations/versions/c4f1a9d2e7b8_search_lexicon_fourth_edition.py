"""Search lexicon, fourth edition (issue 12): 43 more shipped synonym groups.

The groups added to market/search/data/lexicon.yaml as its fourth edition (December 2026: geometric
measurement and additive-manufacturing processes, GMP production, vehicle engineering, coatings and
polymers, optical fibre, simulation, agriculture and livestock, credit and finance, food testing,
aerial survey, medical-record data; one section of gaps seen on the second validation set), frozen
here as (source, [(seed key, terms)]): an installed database gets them on ``db upgrade``. Like the
second and third editions (f3a7c1d9e2b4, a8c2e5f7b913), a key the table already holds (an admin's
edit, or deletion: a tombstone) is left alone. No app code is imported.

Revision ID: c4f1a9d2e7b8
Revises: b3e8d1f4a6c2
Create Date: 2026-12-06 02:40:00
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "c4f1a9d2e7b8"
down_revision = "b3e8d1f4a6c2"
branch_labels = None
depends_on = None

synonym = sa.table(
    "search_synonym",
    sa.column("id", sa.Integer),
    sa.column("terms", sa.JSON),
    sa.column("origin", sa.String),
    sa.column("source", sa.String),
    sa.column("seed_key", sa.String),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
    sa.column("deleted_at", sa.DateTime(timezone=True)),
)

SECTIONS = [
    ('第四版（2026-12；制造、汽车、材料、农牧、金融与医疗数据的标准名与常用别称：GB/T 1716'
     '3《几何量测量器具术语》、GB/T 35351《增材制造 术语》与 ISO/ASTM 52900、《'
     '药品生产质量管理规范》、GB/T 3730 与汽车行业用语、GB/T 5206《色漆和清漆 术语》、'
     'GB/T 4754、《种子法》《畜牧法》、中国人民银行金融统计用语、国家卫生健康委用语、GB/T 1', [
        ('shipped:二次元测量仪', ['二次元测量仪', '二次元影像仪', '影像测量仪']),
        ('shipped:激光跟踪测量系统', ['激光跟踪测量系统', '激光跟踪仪']),
        ('shipped:表面粗糙度仪', ['表面粗糙度仪', '粗糙度测量仪', '粗糙度仪']),
        ('shipped:激光粉末床熔融', ['激光粉末床熔融', 'LPBF', '激光选区熔化']),
        ('shipped:定向能量沉积', ['定向能量沉积', 'DED']),
        ('shipped:粘结剂喷射', ['粘结剂喷射', '黏结剂喷射', '三维喷印']),
        ('shipped:灌装线', ['灌装线', '灌装生产线', '灌封线']),
        ('shipped:主机厂', ['主机厂', '整车厂', '整车企业']),
        ('shipped:试车场', ['试车场', '汽车试车场', '试验场']),
        ('shipped:油漆', ['油漆', '色漆', '涂料']),
        ('shipped:高聚物', ['高聚物', '聚合物']),
        ('shipped:光纤光栅', ['光纤光栅', 'FBG', '光纤布拉格光栅']),
        ('shipped:cam', ['CAM', '计算机辅助制造']),
        ('shipped:畜牧业', ['畜牧业', '畜牧', '畜牧养殖']),
        ('shipped:植保', ['植保', '植物保护']),
        ('shipped:兽药残留', ['兽药残留', '兽残']),
        ('shipped:测土配方施肥', ['测土配方施肥', '测土配方']),
        ('shipped:风险控制', ['风险控制', '风控']),
        ('shipped:应收账款融资', ['应收账款融资', '保理']),
        ('shipped:快速检测', ['快速检测', '快检', '速测']),
        ('shipped:农产品质量安全检测', ['农产品质量安全检测', '农产品检测', '农产品检验']),
        ('shipped:航空摄影', ['航空摄影', '航拍', '航摄']),
        ('shipped:航空摄影测量', ['航空摄影测量', '航测', '航空测量']),
        ('shipped:检验检查结果互认', ['检验检查结果互认', '检验结果互认', '检验互认', '检查互认']),
    ]),
    ('补充（第四版，2026-12；在第二验证集上发现的缺口，均为行业通用的标准名与俗称：三坐标俗称三次元'
     '、三维扫描俗称抄数，增材制造工艺按 ISO/ASTM 52900，悬架按 GB/T 3730.1 与'
     '俗称悬挂，漆膜按 GB/T 5206，光纤按 GB/T 4754 C3976 光纤制造，牲畜与育种按'
     '《畜牧法》《种子法》，贷款按人民银行金融统计）', [
        ('shipped:三次元', ['三次元', '三次元测量仪', '三次元测量机', '三坐标']),
        ('shipped:抄数', ['抄数', '抄数机', '三维扫描']),
        ('shipped:逆向工程', ['逆向工程', '逆向建模', '逆向设计']),
        ('shipped:光固化成形', ['光固化成形', '光固化', '立体光固化', 'SLA', '光固化快速成型']),
        ('shipped:熔融沉积成形', ['熔融沉积成形', '熔融沉积', 'FDM', '熔丝制造', 'FFF']),
        ('shipped:电子束熔丝成形', ['电子束熔丝成形', '电子束增材制造', '电子束熔丝沉积']),
        ('shipped:隔离器', ['隔离器', '隔离舱', '无菌隔离器']),
        ('shipped:悬架', ['悬架', '悬挂', '悬挂系统', '悬架系统']),
        ('shipped:底盘调校', ['底盘调校', '悬架调校', '悬挂调校', '底盘标定']),
        ('shipped:漆膜', ['漆膜', '涂膜', '涂层']),
        ('shipped:光导纤维', ['光导纤维', '光纤']),
        ('shipped:数值模拟', ['数值模拟', '数值仿真', '计算机模拟']),
        ('shipped:牲畜', ['牲畜', '家畜', '畜禽', '禽畜']),
        ('shipped:育种', ['育种', '品种选育', '选育', '良种选育']),
        ('shipped:分子育种', ['分子育种', '分子标记辅助育种', '分子标记辅助选择', '分子设计育种']),
        ('shipped:制种', ['制种', '种子生产', '繁种']),
        ('shipped:作物表型', ['作物表型', '植物表型', '表型组']),
        ('shipped:贷款', ['贷款', '信贷', '授信', '借贷']),
        ('shipped:冷藏物流', ['冷藏物流', '冷链物流']),
    ]),
]


def upgrade():
    bind = op.get_bind()
    have = {k for (k,) in bind.execute(sa.select(synonym.c.seed_key).where(synonym.c.seed_key.is_not(None)))}
    now = dt.datetime.now(dt.UTC)
    rows = [
        dict(terms=terms, origin="shipped", source=source, seed_key=key, created_at=now, updated_at=now, deleted_at=None)
        for source, groups in SECTIONS
        for key, terms in groups
        if key not in have
    ]
    if rows:
        bind.execute(sa.insert(synonym), rows)


def downgrade():
    # The groups of this edition as shipped; tombstones (an admin's deletions) stay.
    keys = [key for _source, groups in SECTIONS for key, _terms in groups]
    op.get_bind().execute(sa.delete(synonym).where(
        synonym.c.seed_key.in_(keys), synonym.c.deleted_at.is_(None), synonym.c.origin == "shipped"))
