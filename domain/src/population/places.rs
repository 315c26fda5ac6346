//! Where people live: real municipalities with a street stem and its postal code, the prefecture
//! number used in insurer numbers, and the municipality's 国民健康保険 insurer code. Weights follow
//! population roughly, so Tokyo, Kanagawa and Osaka dominate.

/// A municipality and one of its neighbourhoods.
#[derive(Debug, Clone, Copy)]
pub struct Place {
    /// 都道府県番号 (01 北海道 … 47 沖縄県).
    pub prefecture: u8,
    /// Prefecture name.
    pub prefecture_name: &'static str,
    /// Municipality, as it appears in an address and in the 国保 insurer's name.
    pub municipality: &'static str,
    /// The neighbourhood (町域) the address continues with.
    pub town: &'static str,
    /// 郵便番号 of the neighbourhood, "123-4567".
    pub post_number: &'static str,
    /// 保険者別番号 of the municipality's 国民健康保険 (3 digits; the 6-digit 保険者番号 is the
    /// prefecture, this and a check digit).
    pub kokuho_code: u16,
    /// Relative population weight.
    pub weight: u32,
}

const fn p(
    prefecture: u8,
    prefecture_name: &'static str,
    municipality: &'static str,
    town: &'static str,
    post_number: &'static str,
    kokuho_code: u16,
    weight: u32,
) -> Place {
    Place { prefecture, prefecture_name, municipality, town, post_number, kokuho_code, weight }
}

pub const PLACES: &[Place] = &[
    p(1, "北海道", "札幌市中央区", "北一条西", "060-0001", 1, 40),
    p(1, "北海道", "旭川市", "六条通", "070-0036", 4, 10),
    p(4, "宮城県", "仙台市青葉区", "国分町", "980-0803", 1, 22),
    p(7, "福島県", "郡山市", "駅前", "963-8002", 3, 10),
    p(8, "茨城県", "水戸市", "三の丸", "310-0011", 1, 12),
    p(10, "群馬県", "高崎市", "高松町", "370-0829", 2, 10),
    p(11, "埼玉県", "さいたま市浦和区", "高砂", "330-0063", 1, 40),
    p(11, "埼玉県", "川口市", "本町", "332-0012", 3, 20),
    p(12, "千葉県", "千葉市中央区", "市場町", "260-0855", 1, 30),
    p(12, "千葉県", "船橋市", "本町", "273-0005", 4, 20),
    p(13, "東京都", "新宿区", "西新宿", "160-0023", 104, 30),
    p(13, "東京都", "世田谷区", "太子堂", "154-0004", 112, 40),
    p(13, "東京都", "練馬区", "豊玉北", "176-0012", 120, 30),
    p(13, "東京都", "大田区", "蒲田", "144-0052", 111, 30),
    p(13, "東京都", "足立区", "千住", "120-0034", 121, 25),
    p(13, "東京都", "八王子市", "元本郷町", "192-0051", 201, 20),
    p(14, "神奈川県", "横浜市中区", "山下町", "231-0023", 1, 60),
    p(14, "神奈川県", "川崎市川崎区", "駅前本町", "210-0007", 2, 40),
    p(14, "神奈川県", "相模原市中央区", "中央", "252-0239", 9, 20),
    p(15, "新潟県", "新潟市中央区", "西堀通", "951-8062", 1, 15),
    p(20, "長野県", "長野市", "鶴賀", "380-0813", 1, 10),
    p(22, "静岡県", "静岡市葵区", "追手町", "420-0853", 1, 20),
    p(22, "静岡県", "浜松市中央区", "元城町", "430-0946", 3, 20),
    p(23, "愛知県", "名古屋市中区", "栄", "460-0008", 1, 60),
    p(23, "愛知県", "豊田市", "西町", "471-0025", 11, 15),
    p(26, "京都府", "京都市下京区", "東塩小路町", "600-8216", 1, 30),
    p(27, "大阪府", "大阪市北区", "梅田", "530-0001", 1, 60),
    p(27, "大阪府", "堺市堺区", "南瓦町", "590-0078", 2, 25),
    p(27, "大阪府", "東大阪市", "荒本北", "577-0011", 27, 15),
    p(28, "兵庫県", "神戸市中央区", "加納町", "650-0001", 1, 35),
    p(28, "兵庫県", "姫路市", "安田", "670-0955", 2, 15),
    p(33, "岡山県", "岡山市北区", "大供", "700-0913", 1, 15),
    p(34, "広島県", "広島市中区", "基町", "730-0011", 1, 25),
    p(38, "愛媛県", "松山市", "二番町", "790-0002", 1, 10),
    p(40, "福岡県", "福岡市博多区", "博多駅前", "812-0011", 1, 40),
    p(40, "福岡県", "北九州市小倉北区", "城内", "803-0813", 2, 20),
    p(43, "熊本県", "熊本市中央区", "手取本町", "860-0806", 1, 15),
    p(46, "鹿児島県", "鹿児島市", "山下町", "892-0816", 1, 12),
    p(47, "沖縄県", "那覇市", "泉崎", "900-0021", 1, 12),
];
