"""Traditional↔simplified character table for the words units actually write, so 繁體 posts classify alike."""

from __future__ import annotations

# (simplified, traditional) pairs; only unambiguous mappings in this domain (no 干/里/面/系/台/只).
_PAIRS = (
    "税稅 监監 险險 财財 审審 档檔 侨僑 担擔 粮糧 储儲 贸貿 缴繳 户戶 维維 诉訴 讼訟 "
    "狱獄 罚罰 废廢 弃棄 净淨 厕廁 础礎 页頁 题題 颁頒 预預 频頻 额額 办辦 编編 贴貼 "
    "馈饋 赠贈 顾顧 爱愛 义義 镇鎮 虑慮 迹跡 钢鋼 铺鋪 锋鋒 雷雷 挥揮 扬揚 树樹 优優 "
    "质質 询詢 咨諮 讲講 爱愛 罢罷 备備 贝貝 笔筆 边邊 变變 标標 宾賓 补補 参參 产產 "
    "长長 场場 尝嘗 车車 陈陳 称稱 诚誠 处處 传傳 从從 达達 带帶 单單 当當 党黨 导導 "
    "灯燈 递遞 点點 电電 东東 动動 独獨 对對 队隊 夺奪 儿兒 发發 范範 飞飛 费費 丰豐 "
    "风風 凤鳳 妇婦 负負 该該 盖蓋 刚剛 岗崗 个個 给給 巩鞏 贡貢 购購 顾顧 关關 观觀 "
    "馆館 广廣 归歸 规規 贵貴 国國 过過 汉漢 号號 红紅 后後 护護 华華 画畫 话話 怀懷 "
    "欢歡 环環 还還 换換 黄黃 会會 汇匯 获獲 击擊 机機 积積 鸡雞 级級 极極 济濟 际際 "
    "绩績 继繼 纪紀 价價 坚堅 检檢 见見 荐薦 践踐 将將 讲講 奖獎 节節 结結 洁潔 仅僅 "
    "进進 尽盡 经經 惊驚 举舉 剧劇 军軍 开開 况況 亏虧 扩擴 来來 劳勞 乐樂 类類 礼禮 "
    "历歷 丽麗 联聯 练練 两兩 辆輛 疗療 邻鄰 临臨 领領 刘劉 龙龍 楼樓 录錄 陆陸 乱亂 "
    "论論 马馬 买買 卖賣 满滿 门門 们們 梦夢 庙廟 灭滅 鸣鳴 难難 鸟鳥 宁寧 农農 盘盤 "
    "气氣 迁遷 钱錢 桥橋 亲親 轻輕 庆慶 穷窮 区區 劝勸 权權 确確 让讓 热熱 认認 荣榮 "
    "伤傷 设設 绍紹 师師 时時 实實 识識 势勢 视視 试試 书書 属屬 数數 帅帥 顺順 说說 "
    "丝絲 岁歲 孙孫 态態 谈談 叹嘆 汤湯 讨討 体體 条條 听聽 厅廳 头頭 图圖 团團 为為 "
    "围圍 卫衛 伟偉 问問 无無 务務 误誤 习習 戏戲 现現 县縣 宪憲 乡鄉 响響 协協 写寫 "
    "谢謝 兴興 须須 许許 选選 学學 训訓 压壓 亚亞 严嚴 验驗 阳陽 养養 样樣 药藥 爷爺 "
    "业業 医醫 仪儀 议議 艺藝 忆憶 义義 谊誼 阴陰 应應 营營 拥擁 优優 邮郵 鱼魚 与與 "
    "语語 园園 员員 愿願 约約 运運 杂雜 灾災 载載 赞贊 责責 则則 战戰 张張 这這 阵陣 "
    "镇鎮 争爭 证證 织織 职職 执執 纸紙 质質 钟鐘 众眾 专專 转轉 装裝 状狀 准準 资資 "
    "综綜 总總 组組 报報 网網 闻聞 诗詩 读讀 课課 讯訊 线線 统統 创創 记記 献獻 缘緣 "
    "扫掃 圆圓 顿頓 齐齊 残殘 诊診 测測 静靜 韩韓 杨楊 赵趙 吴吳 郑鄭 冯馮 卢盧 叶葉 "
    "虽雖 罗羅 沟溝 请請 续續 亿億 万萬 计計 划劃 阶階 层層 厂廠 铁鐵 银銀 饭飯 饮飲 "
    "饺餃 奋奮 斗鬥 种種 么麼 纳納 贫貧 闲閒 观觀 览覽 宣宣 庭庭 帮幫 扶扶 协協 调調 "
    "查查 访訪 问問 慰慰 温溫 暖暖 湾灣 岛島 旧舊 烈烈 纪紀 馆館 农農 业業 务務 园園 "
    "绿綠 护護 树樹 态態 环環 垃垃 圾圾 类類 宝寶 贝貝 邀邀 诵誦 书書 画畫 剪剪 纸紙 "
    "灯燈 笼籠 粽粽 饼餅 节節 庆慶 晚晚 会會 艺藝 术術 体體 育育 赛賽 跑跑 步步 健健 "
    "康康 义義 剪剪 血血 压壓 糖糖 药藥 针針 疫疫 苗苗 热熱 线線 话話 单單 据據 统統 "
    "计計 "
)

SIMPLIFIED_TO_TRADITIONAL: dict[str, str] = {
    pair[0]: pair[1] for pair in _PAIRS.split() if len(pair) == 2 and pair[0] != pair[1]
}
TRADITIONAL_TO_SIMPLIFIED: dict[str, str] = {t: s for s, t in SIMPLIFIED_TO_TRADITIONAL.items()}
# Variants that several simplified characters share or that users type instead.
TRADITIONAL_TO_SIMPLIFIED.update(
    {
        "佈": "布",
        "裡": "里",
        "裏": "里",
        "麵": "面",
        "乾": "干",
        "幹": "干",
        "臺": "台",
        "係": "系",
        "繫": "系",
        "隻": "只",
        "誌": "志",
        "妳": "你",
        "祇": "只",
    }
)

_TO_SIMPLIFIED = str.maketrans(TRADITIONAL_TO_SIMPLIFIED)
_TO_TRADITIONAL = str.maketrans(SIMPLIFIED_TO_TRADITIONAL)


def to_simplified(text: str) -> str:
    """Map traditional characters to simplified ones so features and rules see one script."""
    return text.translate(_TO_SIMPLIFIED)


def to_traditional(text: str) -> str:
    """Write a simplified text in traditional characters (used to vary the seed corpus)."""
    return text.translate(_TO_TRADITIONAL)
