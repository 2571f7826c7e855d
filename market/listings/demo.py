"""Demo listings: every kind and every track, in Chinese, from the demo organisations.

32 published listings, one draft and one submitted listing (for the review queue). Loading twice
leaves one copy: rows are matched by ref, and an unchanged row is left alone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from market import audit
from market.extensions import db
from market.search.outbox import enqueue
from models.base import utcnow
from models.listings import Listing, ListingStatus

from . import fields

SCENARIOS: list[dict[str, Any]] = [
    dict(ref="S0001", owner="L1", track="digital_healthcare", title="药物研发 AI 辅助筛选：小分子先导化合物虚拟筛选",
         description="光华医疗在抗肿瘤小分子药物研发中，需要对约 **200 万** 个化合物进行虚拟筛选。\n\n"
                     "欢迎具备分子对接、深度学习活性预测能力的中小企业参与，提供算法与算力服务。",
         tags=["人工智能", "药物研发", "虚拟筛选", "分子对接"], scenario_mode="rd_collaboration", budget_cny="800000.00", days=60,
         in_district_only=True, requirements="1. 基于深度学习的活性预测模型，AUC 不低于 0.85；\n2. 支持 GPU 集群并行对接；\n3. 数据不出园区。",
         deliverables="筛选报告、Top 500 候选化合物清单、可复现的模型与代码。"),
    dict(ref="S0002", owner="L1", track="digital_healthcare", title="医学影像 AI 辅助诊断：肺结节 CT 智能识别",
         description="合作医院每年产生 30 万例胸部 CT，现开放脱敏影像与标注平台，寻找肺结节检出与良恶性分级算法团队。",
         tags=["医学影像", "人工智能", "CT", "辅助诊断"], scenario_mode="crowdsourcing", budget_cny="500000.00", days=45,
         in_district_only=True, requirements="敏感度 ≥ 95%，每例假阳性 ≤ 1；通过医院伦理审查流程。", deliverables="算法模型、测试报告、部署文档。"),
    dict(ref="S0003", owner="L1", track="medical_devices", title="手术机器人临床前验证与可靠性测试",
         description="为腔镜手术机器人开放动物实验室与测试工装，寻找力反馈传感器、可靠性测试方向的合作伙伴。",
         tags=["手术机器人", "医疗器械", "可靠性测试"], scenario_mode="space_carrier", budget_cny="300000.00", days=90,
         in_district_only=False, requirements="具备 ISO 13485 质量体系或同等经验。", deliverables="测试方案与报告。"),
    dict(ref="S0004", owner="L2", track="satellite_internet", title="卫星通信终端测试：低轨卫星终端入网一致性测试",
         description="星网通信开放卫星通信终端测试场景，面向便携式、车载终端的入网一致性与射频性能测试。",
         tags=["卫星通信", "终端测试", "低轨卫星", "射频"], scenario_mode="crowdsourcing", budget_cny="650000.00", days=75,
         in_district_only=True, requirements="熟悉 3GPP NTN 标准；具备暗室或外场测试能力。", deliverables="测试用例库、自动化测试脚本、测试报告。"),
    dict(ref="S0005", owner="L2", track="satellite_internet", title="卫星遥感影像智能解译：耕地变化检测",
         description="基于亚米级遥感影像，开放耕地非农化变化检测场景，提供样本与验证区。",
         tags=["遥感", "卫星互联网", "变化检测", "人工智能"], scenario_mode="rd_collaboration", budget_cny="400000.00", days=50,
         in_district_only=False, requirements="变化检测 F1 ≥ 0.8。", deliverables="检测模型与省级示范区成果图。"),
    dict(ref="S0006", owner="L3", track="smart_materials", title="新型显示材料：柔性 OLED 封装薄膜研发协作",
         description="智造装备集团面向新型显示产线，征集柔性 OLED 薄膜封装材料与工艺合作团队，开放中试线验证。",
         tags=["新型显示", "OLED", "封装材料", "光电材料"], scenario_mode="rd_collaboration", budget_cny="1200000.00", days=120,
         in_district_only=True, requirements="水汽透过率 WVTR ≤ 1×10⁻⁴ g/m²/day。", deliverables="材料样品、工艺窗口报告、中试验证数据。"),
    dict(ref="S0007", owner="L3", track="intelligent_manufacturing", title="智能产线视觉质检：精密零件表面缺陷检测",
         description="开放三条机加工产线，寻找基于机器视觉的表面划伤、压痕、毛刺检测方案。",
         tags=["机器视觉", "缺陷检测", "智能制造", "工业互联网"], scenario_mode="crowdsourcing", budget_cny="350000.00", days=40,
         in_district_only=True, requirements="节拍 ≤ 2 秒/件，漏检率 ≤ 0.1%。", deliverables="检测工作站与部署。"),
    dict(ref="S0008", owner="GOV1", track="digital_government", title="一网通办智能客服：政务咨询大模型应用",
         description="长春新区政务服务中心开放政务咨询场景，建设基于大模型的智能问答与事项引导。",
         tags=["数字政务", "大模型", "智能客服", "人工智能"], scenario_mode="crowdsourcing", budget_cny="600000.00", days=70,
         in_district_only=True, requirements="私有化部署；回答可溯源到政策原文。", deliverables="智能客服系统及运维一年。"),
    dict(ref="S0009", owner="GOV1", track="smart_transport", title="智能交通：主干道路口信号配时优化",
         description="开放 20 个路口的信号机接口与流量数据，征集自适应信号配时优化方案并现场示范。",
         tags=["智能交通", "信号配时", "车路协同"], scenario_mode="crowdsourcing", budget_cny="450000.00", days=80,
         in_district_only=False, requirements="早晚高峰平均延误下降 10% 以上。", deliverables="优化系统与效果评估报告。"),
    dict(ref="S0010", owner="GOV1", track="smart_security", title="智能安防：产业园区视频结构化与异常行为识别",
         description="在新区两个产业园开放视频监控资源，征集人员聚集、越界、烟火等异常事件识别方案。",
         tags=["智能安防", "视频结构化", "计算机视觉"], scenario_mode="space_carrier", budget_cny="380000.00", days=65,
         in_district_only=True, requirements="满足等保 2.0 三级要求。", deliverables="识别平台与示范运行报告。"),
    dict(ref="S0011", owner="GOV1", track="smart_environment", title="智慧环保：伊通河支流水质在线监测与溯源",
         description="开放河道监测站点与历史水质数据，寻找水质异常预警与污染溯源模型。",
         tags=["智慧环保", "水质监测", "污染溯源", "物联网"], scenario_mode="rd_collaboration", budget_cny="300000.00", days=90,
         in_district_only=True, requirements="预警提前量不少于 2 小时。", deliverables="监测预警平台、溯源模型报告。"),
]

INSTRUMENTS: list[dict[str, Any]] = [
    dict(ref="H01", owner="U1", track="digital_healthcare", title="冷冻电镜（Cryo-EM）300kV",
         description="300kV 场发射冷冻透射电子显微镜，配直接电子探测器，用于蛋白质、病毒等生物大分子高分辨结构解析。",
         tags=["冷冻电镜", "电镜", "结构生物学", "蛋白质"], specs="加速电压 300 kV；信息分辨率 ≤ 0.12 nm；K3 直接电子探测器；自动进样 12 格。",
         location="吉林新区大学 生命科学楼 B102", rate_cny_per_hour="1800.00", rate_cny_per_day="36000.00",
         booking_rules="样品需先经负染评估；夜间机时按 8 折。", operation="staff"),
    dict(ref="H02", owner="I1", track="smart_materials", title="扫描电子显微镜（SEM）",
         description="场发射扫描电子显微镜，配能谱仪（EDS），适用于材料表面形貌与微区成分分析。",
         tags=["扫描电镜", "SEM", "电镜", "能谱", "形貌分析"], specs="分辨率 0.8 nm@15kV；放大倍数 12–2,000,000 倍；牛津 EDS。",
         location="长春光学精密仪器研究院 分析测试中心 105", rate_cny_per_hour="380.00", rate_cny_per_day="6000.00",
         booking_rules="提前 2 个工作日预约；导电性差的样品需喷金。", operation="self"),
    dict(ref="H03", owner="U1", track="digital_healthcare", title="核磁共振波谱仪（NMR）600MHz",
         description="600MHz 液体核磁共振波谱仪，配超低温探头，适用于有机化合物与药物结构鉴定。",
         tags=["核磁共振", "NMR", "波谱", "药物分析"], specs="600 MHz；超低温 TCI 探头；支持 1H/13C/15N 多维谱。",
         location="吉林新区大学 化学楼 A201", rate_cny_per_hour="600.00", rate_cny_per_day="9600.00",
         booking_rules="提前 3 天预约；氘代试剂自备。", operation="staff"),
    dict(ref="H04", owner="I1", track="smart_materials", title="透射电子显微镜（TEM）200kV",
         description="200kV 场发射透射电镜，可做高分辨成像、电子衍射与 STEM-EDS 面分布。",
         tags=["透射电镜", "TEM", "电镜", "高分辨"], specs="点分辨率 0.19 nm；STEM-HAADF；双倾样品杆。",
         location="长春光学精密仪器研究院 分析测试中心 108", rate_cny_per_hour="900.00", rate_cny_per_day="14000.00",
         booking_rules="制样可委托中心完成，另行收费。", operation="staff"),
    dict(ref="H05", owner="I1", track="smart_materials", title="X射线衍射仪（XRD）",
         description="多功能 X 射线衍射仪，用于物相鉴定、晶粒尺寸与残余应力分析，支持薄膜掠入射。",
         tags=["X射线衍射", "XRD", "物相分析", "薄膜"], specs="Cu 靶；2θ 范围 -110°–168°；高温附件至 1200 ℃。",
         location="长春光学精密仪器研究院 分析测试中心 112", rate_cny_per_hour="260.00", rate_cny_per_day="4000.00",
         booking_rules="粉末样品不少于 0.5 g。", operation="self"),
    dict(ref="H06", owner="U1", track="medical_devices", title="激光扫描共聚焦显微镜",
         description="用于细胞成像、活细胞动态观察与三维重建，服务医疗器械生物相容性评价。",
         tags=["共聚焦显微镜", "细胞成像", "生物相容性"], specs="405/488/561/640 nm 四激光；活细胞工作站。",
         location="吉林新区大学 医学院 C305", rate_cny_per_hour="320.00", rate_cny_per_day="5000.00",
         booking_rules="首次使用需参加 2 小时上机培训。", operation="self"),
    dict(ref="H07", owner="I1", track="intelligent_manufacturing", title="光学镜头 MTF 测试仪",
         description="测量光学镜头调制传递函数（MTF）、畸变与场曲，服务机器视觉与车载镜头企业。",
         tags=["光学检测", "MTF", "镜头", "机器视觉"], specs="可测焦距 2–200 mm；视场 ±90°。",
         location="长春光学精密仪器研究院 光学检测中心", rate_cny_per_hour="450.00", rate_cny_per_day="7000.00",
         booking_rules="提前 1 周预约，批量测试可议价。", operation="staff"),
]

FACILITIES: list[dict[str, Any]] = [
    dict(ref="F01", owner="U1", track="satellite_internet", title="电磁兼容（EMC）半电波暗室",
         description="10 米法半电波暗室，可开展辐射发射、辐射抗扰度测试，服务卫星终端、医疗电子产品认证前摸底。",
         tags=["电磁兼容", "EMC", "暗室", "卫星终端"], specs="10 m 法；频率 30 MHz–40 GHz；转台承重 2 t。",
         location="吉林新区大学 电子信息实验楼", rate_cny_per_hour="1200.00", rate_cny_per_day="15000.00",
         booking_rules="按半天起订；需提供产品说明书。", operation="staff"),
    dict(ref="F02", owner="I1", track="smart_materials", title="百级洁净室微纳加工平台",
         description="含光刻、刻蚀、镀膜全流程的微纳加工洁净室，面向 MEMS、光电器件研发。",
         tags=["洁净室", "微纳加工", "光刻", "MEMS"], specs="洁净度 ISO 5；紫外光刻最小线宽 1 μm；磁控溅射、ICP 刻蚀。",
         location="长春光学精密仪器研究院 微纳中心", rate_cny_per_hour="700.00", rate_cny_per_day="10000.00",
         booking_rules="须通过洁净室安全培训；危化品统一管理。", operation="self"),
    dict(ref="F03", owner="L1", track="medical_devices", title="医疗器械生物安全二级（BSL-2）实验室",
         description="光华医疗开放 BSL-2 实验室，用于体外诊断试剂与器械的微生物学评价。",
         tags=["生物安全实验室", "BSL-2", "体外诊断", "医疗器械"], specs="BSL-2；生物安全柜 4 台；CO2 培养箱。",
         location="长春新区 光华医疗产业园 3 号楼", rate_cny_per_hour="500.00", rate_cny_per_day="6500.00",
         booking_rules="须签署生物安全协议。", operation="staff"),
]

PILOT_BASES: list[dict[str, Any]] = [
    dict(ref="P01", owner="L3", track="intelligent_manufacturing", title="智能装备中试基地（柔性装配线）",
         description="智造装备集团开放 2000 平方米中试车间，含柔性装配线、工业机器人工作站与 MES 系统。",
         tags=["中试基地", "智能装备", "工业机器人", "MES"], specs="2000 ㎡；6 轴机器人 8 台；AGV 4 台；MES 全流程追溯。",
         location="长春新区 智造产业园 A 区", rate_cny_per_hour="1500.00", rate_cny_per_day="12000.00",
         booking_rules="按周排产；需提交中试方案。", operation="staff"),
    dict(ref="P02", owner="I1", track="smart_materials", title="光电材料中试线（卷对卷涂布）",
         description="卷对卷精密涂布中试线，适用于光学膜、功能薄膜与柔性电子材料的小批量验证。",
         tags=["中试线", "涂布", "光学膜", "柔性电子", "新型显示"], specs="幅宽 650 mm；速度 1–30 m/min；十万级洁净。",
         location="长春光学精密仪器研究院 中试基地", rate_cny_per_hour="2000.00", rate_cny_per_day="16000.00",
         booking_rules="原料自备或委托采购；最短 1 天。", operation="staff"),
    dict(ref="P03", owner="L1", track="medical_devices", title="医疗器械小试基地（注塑与洁净装配）",
         description="面向一次性医疗耗材的小试基地，含精密注塑与万级洁净装配区，支持注册检验样品制备。",
         tags=["小试基地", "医疗耗材", "注塑", "洁净装配"], specs="注塑机 6 台（80–260 t）；万级洁净装配 300 ㎡。",
         location="长春新区 光华医疗产业园 5 号楼", rate_cny_per_hour="800.00", rate_cny_per_day="6000.00",
         booking_rules="需提供产品图纸与工艺文件。", operation="staff"),
]

DATABASES: list[dict[str, Any]] = [
    dict(ref="D01", owner="U1", track="digital_healthcare", title="东北地区常见病蛋白质组学数据库",
         description="收录 1.2 万例样本的蛋白质组学与临床表型数据，支持疾病标志物发现与药物靶点研究。",
         tags=["蛋白质组学", "生物医学数据", "标志物", "数据库"], data_domain="healthcare", open_mode="conditional",
         fields=["样本编号", "疾病分类", "蛋白丰度", "临床表型"], update_frequency="每季度",
         licence="仅限科研与产品研发使用，不得再分发。", authorised_terms="签署数据使用协议后在隐私计算平台内授权使用。"),
    dict(ref="D02", owner="L2", track="satellite_internet", title="吉林省卫星遥感影像数据库",
         description="覆盖吉林全省的亚米级光学与 SAR 遥感影像，按季度更新，可按区域、时相检索。",
         tags=["遥感", "卫星影像", "SAR", "数据库"], data_domain="other", open_mode="conditional",
         fields=["景号", "成像时间", "分辨率", "云量", "覆盖范围"], update_frequency="每季度",
         licence="按景授权；衍生产品可商用。", franchise_terms="增值产品开发可申请特许开发，收益分成另议。"),
    dict(ref="D03", owner="I1", track="smart_materials", title="光学材料性能数据库",
         description="收录 3000 余种光学玻璃、晶体与薄膜材料的折射率、色散、热学与力学性能数据。",
         tags=["光学材料", "材料数据", "折射率", "数据库"], data_domain="other", open_mode="unconditional",
         fields=["材料牌号", "折射率", "阿贝数", "热膨胀系数"], update_frequency="每半年",
         licence="CC BY 4.0，注明来源即可使用。"),
]

PUBLIC_DATA: list[dict[str, Any]] = [
    dict(ref="G01", owner="GOV2", track="digital_government", title="企业公共信用信息开放清单",
         description="长春新区企业登记、行政许可、行政处罚、信用评价等公共信用信息，面向征信、风控类应用开放。",
         tags=["公共数据", "信用", "企业信用", "数据开放"], data_domain="credit", open_mode="conditional",
         fields=["企业名称", "统一社会信用代码", "行政许可", "行政处罚", "信用等级"], update_frequency="每日",
         licence="有条件开放：申请方需为新区内登记企业，签署数据安全承诺书。",
         franchise_terms="信用评估增值产品可申请特许开发，期限 3 年。", authorised_terms="金融风控场景经审批后授权应用，调用量按月统计。"),
    dict(ref="G02", owner="GOV2", track="digital_healthcare", title="医疗卫生机构与床位资源开放清单",
         description="新区医疗卫生机构名录、科室设置、床位与大型设备配置数据。",
         tags=["公共数据", "医疗", "卫生资源", "数据开放"], data_domain="healthcare", open_mode="unconditional",
         fields=["机构名称", "机构等级", "科室", "床位数", "大型设备"], update_frequency="每月",
         licence="无条件开放，注明来源即可使用。"),
    dict(ref="G03", owner="GOV2", track="digital_government", title="教育资源开放清单（学校与学位）",
         description="新区中小学、幼儿园名录、学区划分与学位供给数据。",
         tags=["公共数据", "教育", "学区", "数据开放"], data_domain="education", open_mode="unconditional",
         fields=["学校名称", "学段", "学区范围", "学位数"], update_frequency="每学期",
         licence="无条件开放。"),
    dict(ref="G04", owner="GOV2", track="smart_transport", title="公交线路与实时到站数据开放清单",
         description="新区公交线路、站点与车辆实时位置数据，支持出行服务与智能交通应用开发。",
         tags=["公共数据", "交通", "公交", "实时数据", "智能交通"], data_domain="transport", open_mode="unconditional",
         fields=["线路编号", "站点", "车辆位置", "预计到站时间"], update_frequency="实时（30 秒）",
         licence="无条件开放；接口调用需注册。"),
    dict(ref="G05", owner="GOV2", track="smart_transport", title="道路卡口交通流量数据开放清单",
         description="主要道路卡口的分车型流量与平均车速，已脱敏，不含号牌信息。",
         tags=["公共数据", "交通", "交通流量", "数据开放"], data_domain="transport", open_mode="conditional",
         fields=["卡口编号", "时段", "车型", "流量", "平均车速"], update_frequency="每小时",
         licence="有条件开放：限交通规划、信号优化类应用。",
         authorised_terms="经交通部门审核后授权应用，不得用于个人轨迹分析。"),
    # the request issue 12 quotes (我们做跨境物流，想找港口和海关方面开放的数据来预测通关时效) has its answer here
    dict(ref="G06", owner="GOV2", track="smart_transport", title="兴隆综合保税区进出口通关时效数据开放清单",
         description="兴隆综合保税区与长春海关的进出口报关单量、查验率与放行时长等按日汇总数据（已脱敏），"
                     "可用于通关时效分析、口岸物流与跨境电商的时效预测。",
         tags=["公共数据", "海关", "通关时效", "口岸物流", "数据开放"], data_domain="transport", open_mode="conditional",
         fields=["日期", "监管方式", "报关单量", "查验率", "平均放行时长"], update_frequency="每日",
         licence="有条件开放：限新区内登记的物流、外贸企业，签署数据安全承诺书。",
         authorised_terms="经口岸办审核后授权应用，不得还原单票报关信息。"),
]

# not published: one draft and one waiting for review
PENDING: list[dict[str, Any]] = [
    dict(ref="S0012", kind="scenario", owner="L2", status="draft", track="satellite_internet",
         title="星载激光通信终端地面验证（草稿）", description="拟开放星地激光通信地面验证站，方案整理中。",
         tags=["激光通信", "卫星互联网"], scenario_mode="rd_collaboration", budget_cny="900000.00", days=100),
    dict(ref="H08", kind="instrument", owner="U1", status="submitted", track="smart_materials",
         title="原子力显微镜（AFM）", description="用于材料表面纳米级形貌与力学性能表征，待审核发布。",
         tags=["原子力显微镜", "AFM", "表面形貌"], specs="扫描范围 90 μm；Z 向噪声 < 0.05 nm。",
         location="吉林新区大学 物理楼 210", rate_cny_per_hour="300.00", operation="self"),
]

KIND_OF = {"S": "scenario", "H": "instrument", "F": "facility", "P": "pilot_base", "D": "database", "G": "public_data"}


def _specs() -> list[dict[str, Any]]:
    out = []
    for spec in SCENARIOS + INSTRUMENTS + FACILITIES + PILOT_BASES + DATABASES + PUBLIC_DATA:
        out.append({"kind": KIND_OF[spec["ref"][0]], "status": "published", **spec})
    return out + PENDING


def load(world) -> None:
    now = utcnow()
    published = 0
    for n, spec in enumerate(_specs()):
        spec = dict(spec)
        ref, kind, status, owner = spec.pop("ref"), spec.pop("kind"), spec.pop("status"), world.orgs[spec.pop("owner")]
        days = spec.pop("days", None)
        listing = db.session.execute(select(Listing).where(Listing.ref == ref)).scalar_one_or_none()
        created = listing is None
        if created:
            listing = Listing(ref=ref, kind=kind, owner=owner, status=status, details={}, view_count=(n * 37) % 400 + 12)
            db.session.add(listing)
            if days:  # a deadline ahead of the day the demo was first loaded
                spec["deadline"] = (now + dt.timedelta(days=days)).replace(hour=9, minute=0, second=0, microsecond=0)
        else:
            spec["deadline"] = listing.deadline if kind == "scenario" else None
        if kind != "scenario":
            spec.pop("deadline", None)
        data = fields.clean(kind, spec)
        changed = created or not fields.same(data, fields.read(listing)) or listing.status != status
        if not changed:
            world.listings[ref] = listing
            published += status == ListingStatus.PUBLISHED
            continue
        fields.apply(listing, data)
        listing.status = status
        if status == ListingStatus.PUBLISHED:
            listing.published_at = listing.published_at or now - dt.timedelta(days=(n % 30) + 1)
            published += 1
        if status == ListingStatus.SUBMITTED:
            listing.submitted_at = listing.submitted_at or now - dt.timedelta(hours=5)
        audit.record("demo", "listing.demo_load", listing, after=audit.snapshot(listing))
        if status == ListingStatus.PUBLISHED:
            enqueue(listing.id, "upsert")
        world.listings[ref] = listing
    db.session.flush()
    world.summary.append(f"listings: {len(world.listings)} ({published} published, 1 draft, 1 submitted)")
