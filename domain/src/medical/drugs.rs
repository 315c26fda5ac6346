//! Commonly dispensed medicines in Japan, by the conditions they treat: real generic names and
//! strengths, the dispensing unit and the usual directions. Codes are 9-digit レセプト電算処理
//! システム 医薬品コード in the right shape (6 + 8 digits); they are illustrative, not the official
//! master's values.

/// One medicine as a pharmacy dispenses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drug {
    /// DrugC: 医薬品コード.
    pub code: &'static str,
    /// DrugN: 医薬品名.
    pub name: &'static str,
    /// Unit: 単位.
    pub unit: &'static str,
    /// UsageN: 用法.
    pub usage: &'static str,
    /// Qua1 per day: 1日量.
    pub per_day: u8,
}

const fn d(code: &'static str, name: &'static str, unit: &'static str, usage: &'static str, per_day: u8) -> Drug {
    Drug { code, name, unit, usage, per_day }
}

/// A chronic condition and the regimens a patient with it is typically on.
#[derive(Debug, Clone, Copy)]
pub struct Condition {
    pub name: &'static str,
    /// Alternative regimens; a patient gets one of them for years.
    pub regimens: &'static [&'static [Drug]],
}

pub const HYPERTENSION: Condition = Condition {
    name: "高血圧症",
    regimens: &[
        &[d("620008901", "アムロジピン錠5mg「サワイ」", "錠", "1日1回朝食後", 1)],
        &[d("620009413", "オルメサルタン錠20mg「DSEP」", "錠", "1日1回朝食後", 1)],
        &[d("621983201", "テルミサルタン錠40mg「JG」", "錠", "1日1回朝食後", 1)],
        &[
            d("620008901", "アムロジピン錠5mg「サワイ」", "錠", "1日1回朝食後", 1),
            d("622078001", "カンデサルタン錠8mg「あすか」", "錠", "1日1回朝食後", 1),
        ],
        &[d("620004871", "ニフェジピンCR錠20mg「サワイ」", "錠", "1日1回朝食後", 1)],
    ],
};

pub const DYSLIPIDEMIA: Condition = Condition {
    name: "脂質異常症",
    regimens: &[
        &[d("622055701", "ロスバスタチン錠2.5mg「DSEP」", "錠", "1日1回夕食後", 1)],
        &[d("621934801", "アトルバスタチン錠10mg「サワイ」", "錠", "1日1回夕食後", 1)],
        &[d("622265501", "ピタバスタチンCa錠2mg「トーワ」", "錠", "1日1回夕食後", 1)],
        &[d("622266901", "エゼチミブ錠10mg「サワイ」", "錠", "1日1回朝食後", 1)],
    ],
};

pub const DIABETES: Condition = Condition {
    name: "2型糖尿病",
    regimens: &[
        &[d("622064401", "メトホルミン塩酸塩錠250mgMT「DSEP」", "錠", "1日2回朝夕食後", 2)],
        &[d("622225101", "シタグリプチン錠50mg「サワイ」", "錠", "1日1回朝食後", 1)],
        &[
            d("622064401", "メトホルミン塩酸塩錠250mgMT「DSEP」", "錠", "1日2回朝夕食後", 2),
            d("622286001", "ジャヌビア錠50mg", "錠", "1日1回朝食後", 1),
        ],
        &[d("622543101", "フォシーガ錠5mg", "錠", "1日1回朝食後", 1)],
    ],
};

pub const GERD: Condition = Condition {
    name: "逆流性食道炎",
    regimens: &[
        &[d("622016901", "ランソプラゾールOD錠15mg「サワイ」", "錠", "1日1回朝食後", 1)],
        &[d("622415901", "タケキャブ錠10mg", "錠", "1日1回朝食後", 1)],
        &[d("621963501", "エソメプラゾールカプセル20mg「ニプロ」", "カプセル", "1日1回朝食後", 1)],
    ],
};

pub const INSOMNIA: Condition = Condition {
    name: "不眠症",
    regimens: &[
        &[d("620004104", "ゾルピデム酒石酸塩錠5mg「サワイ」", "錠", "1日1回就寝前", 1)],
        &[d("622243401", "ベルソムラ錠15mg", "錠", "1日1回就寝前", 1)],
        &[d("622650401", "デエビゴ錠5mg", "錠", "1日1回就寝前", 1)],
    ],
};

pub const OSTEOPOROSIS: Condition = Condition {
    name: "骨粗鬆症",
    regimens: &[
        &[d("621909301", "エルデカルシトールカプセル0.75μg「サワイ」", "カプセル", "1日1回朝食後", 1)],
        &[
            d("621909301", "エルデカルシトールカプセル0.75μg「サワイ」", "カプセル", "1日1回朝食後", 1),
            d("620005301", "アレンドロン酸錠35mg「サワイ」", "錠", "週1回起床時", 1),
        ],
    ],
};

pub const BPH: Condition = Condition {
    name: "前立腺肥大症",
    regimens: &[
        &[d("620009109", "タムスロシン塩酸塩OD錠0.2mg「サワイ」", "錠", "1日1回朝食後", 1)],
        &[d("622044201", "シロドシンOD錠4mg「DSEP」", "錠", "1日2回朝夕食後", 2)],
    ],
};

pub const ALLERGIC_RHINITIS: Condition = Condition {
    name: "アレルギー性鼻炎",
    regimens: &[
        &[d("622008301", "フェキソフェナジン塩酸塩錠60mg「サワイ」", "錠", "1日2回朝夕食後", 2)],
        &[d("622224701", "ビラノア錠20mg", "錠", "1日1回空腹時", 1)],
        &[d("620007901", "モンテルカスト錠10mg「KM」", "錠", "1日1回就寝前", 1)],
    ],
};

/// Short courses for acute illness: (what for, drugs, days).
pub const ACUTE: &[(&str, &[Drug], u8)] = &[
    (
        "かぜ症候群",
        &[
            d("620002558", "カロナール錠200", "錠", "1日3回毎食後", 3),
            d("620007301", "カルボシステイン錠500mg「サワイ」", "錠", "1日3回毎食後", 3),
        ],
        5,
    ),
    (
        "急性気管支炎",
        &[
            d("620008201", "クラリスロマイシン錠200mg「サワイ」", "錠", "1日2回朝夕食後", 2),
            d("620001601", "アンブロキソール塩酸塩錠15mg「サワイ」", "錠", "1日3回毎食後", 3),
        ],
        5,
    ),
    ("咽頭炎", &[d("620009701", "アモキシシリンカプセル250mg「日医工」", "カプセル", "1日3回毎食後", 3)], 7),
    (
        "胃腸炎",
        &[
            d("620006101", "ビオフェルミンR錠", "錠", "1日3回毎食後", 3),
            d("620005701", "ドンペリドン錠10mg「サワイ」", "錠", "1日3回毎食前", 3),
        ],
        4,
    ),
    ("腰痛症", &[d("620003101", "ロキソプロフェンNa錠60mg「サワイ」", "錠", "1日3回毎食後", 3)], 7),
    ("インフルエンザ", &[d("622419001", "ゾフルーザ錠20mg", "錠", "1回のみ", 2)], 1),
];
